"""Newest-frame relaying for streamlit-webrtc, so a slow server drops old frames instead
of queueing them.

streamlit-webrtc passes both the camera track and the processed track through one
process-wide aiortc ``MediaRelay``, subscribed *buffered*: every consumer gets every
frame, in order, from an unbounded queue. The relay reads its source as fast as frames
come, so when a consumer is slower than the camera (the VP8 encoder of the returned
video, with several streams on two cores) its queue only grows: measured with two
streams, the returned video fell 15 s behind the camera and kept falling. Unbuffered
subscriptions hand each consumer the newest frame when it asks, so the returned video
loses frames under load (the frame rate drops) but never lags by more than a frame
or two.

Nothing else in the stream changes: the processor still sees every frame the relay
reads, and the analysis decides for itself what to skip (``emotion_core.overload``).
"""

from __future__ import annotations

from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack
from streamlit.runtime.runtime import Runtime
from streamlit_webrtc import relay as webrtc_relay
from streamlit_webrtc.eventloop import get_global_event_loop, loop_context


class NewestFrameRelay(MediaRelay):
    """A ``MediaRelay`` whose consumers always get the newest frame (unbuffered)."""

    def subscribe(self, track: MediaStreamTrack, buffered: bool = False) -> MediaStreamTrack:
        """Every subscription is unbuffered, whatever the caller asks for."""
        return super().subscribe(track, buffered=False)


def use_newest_frame_relay() -> None:
    """Make streamlit-webrtc's process-wide relay a :class:`NewestFrameRelay` (idempotent;
    streams already running keep theirs). Call before ``webrtc_streamer``.

    streamlit-webrtc 0.79 keeps the relay as an attribute of Streamlit's ``Runtime``
    and creates one only when that attribute is missing (``streamlit_webrtc.relay``);
    the relay must be built on its event loop, as it does.
    """
    runtime = Runtime.instance()
    name = webrtc_relay._SERVER_GLOBAL_RELAY_ATTR_NAME_
    if isinstance(getattr(runtime, name, None), NewestFrameRelay):
        return
    with loop_context(get_global_event_loop()):
        setattr(runtime, name, NewestFrameRelay())
