"""The newest-frame relay with real aiortc tracks: a consumer slower than its source
gets the newest frame, not an ever older one from a queue."""

from __future__ import annotations

import asyncio

import av
import numpy as np
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from ui.webrtc_relay import NewestFrameRelay

SOURCE_INTERVAL_S = 0.005  # a 200 fps source
CONSUMER_INTERVAL_S = 0.05  # a consumer (an encoder) that takes 50 ms a frame


class NumberedCamera(MediaStreamTrack):
    """Frames numbered by their pts, one every SOURCE_INTERVAL_S."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def recv(self) -> av.VideoFrame:
        await asyncio.sleep(SOURCE_INTERVAL_S)
        frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="bgr24")
        frame.pts = self.sent
        self.sent += 1
        return frame


async def _lags(relay: MediaRelay, frames: int = 12) -> list[int]:
    """How many frames behind the source each consumed frame is."""
    camera = NumberedCamera()
    track = relay.subscribe(camera)
    lags = []
    for _ in range(frames):
        frame = await track.recv()
        lags.append(camera.sent - 1 - frame.pts)
        await asyncio.sleep(CONSUMER_INTERVAL_S)
    track.stop()
    camera.stop()
    return lags


def test_a_slow_consumer_gets_the_newest_frame():
    lags = asyncio.run(_lags(NewestFrameRelay()))
    assert max(lags) <= 2, lags


def test_a_buffered_relay_falls_further_behind_with_every_frame():
    """What streamlit-webrtc does on its own: the reason for NewestFrameRelay."""
    lags = asyncio.run(_lags(MediaRelay()))
    assert lags[-1] > lags[2] + 20, lags


def test_a_caller_asking_for_a_buffer_gets_the_newest_frame_all_the_same():
    relay = NewestFrameRelay()
    camera = NumberedCamera()
    assert relay.subscribe(camera, buffered=True)._buffered is False
