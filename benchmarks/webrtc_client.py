"""A headless Live-page client: what a browser tab does, without a browser.

It speaks Streamlit's websocket protocol (``/_stcore/stream``, protobuf ``BackMsg`` /
``ForwardMsg``) to run the Live page, finds the ``webrtc_streamer`` component in the
page's deltas, sends the component value the component's frontend sends (``playing``,
``sdpOffer``, ``iceCandidates``), reads the SDP answer from the component's arguments,
and streams a 640x480 30 fps camera of a real face (scikit-image's astronaut) over an
aiortc peer connection while it receives the processed video back. It also follows the
page's auto-refreshing fragment (the Live panel, once a second) as the browser does, so
the server does the same work per viewer.

Every frame carries its index in a strip of black and white cells along the bottom
rows (read back whichever way the server mirrors it), so each returned frame says
which camera frame it shows: capture-to-result latency without trusting timestamps
(streamlit-webrtc stamps its output with the newest input's pts, not the shown one's).

Bench-only code (``benchmarks/``): the app never imports it.

    .venv/bin/python benchmarks/webrtc_client.py http://127.0.0.1:8501 --seconds 20

prints a JSON line when it streams, then one with its figures (frames sent, returned,
latencies, the page's counters). Killing the process with SIGKILL while it streams
leaves the server what a closed tab leaves it (tests/e2e/test_dropped_client.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import time
from dataclasses import dataclass, field

import av
import cv2
import numpy as np
import skimage.data
import websockets
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.mediastreams import MediaStreamError
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

COMPONENT = "streamlit_webrtc.component.webrtc_streamer"
WIDTH, HEIGHT, FPS = 640, 480, 30
CELLS, CELL_ROWS = 20, 16  # the frame-index strip: 20 cells of 32 px, bottom 16 rows
INDEX_BITS = 16  # cell 0 white, cells 1-16 the index, 17 parity, 18-19 black


def use_loopback_only() -> None:
    """Offer only 127.0.0.1 as ICE host candidate (aioice never offers loopback by
    itself), as the test server's sitecustomize does: the stream stays on this machine."""
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"]


def camera_pictures(count: int = 10) -> list[np.ndarray]:
    """The astronaut scaled to 480x480 in the middle of a black 640x480 picture, shifted
    by 0..count-1 pixels (the same fake webcam as the browser test's)."""
    face = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    canvas = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    canvas[:, 80:560] = cv2.resize(face, (480, 480))
    return [np.roll(canvas, i, axis=1) for i in range(count)]


def stamp(picture: np.ndarray, index: int) -> None:
    """Write ``index`` (mod 2**16) into the bottom strip of a BGR picture, in place."""
    bits = [(index >> (INDEX_BITS - 1 - b)) & 1 for b in range(INDEX_BITS)]
    cells = [1, *bits, sum(bits) % 2, 0, 0]
    width = WIDTH // CELLS
    for c, on in enumerate(cells):
        picture[HEIGHT - CELL_ROWS :, c * width : (c + 1) * width] = 255 if on else 0


def read_stamp(luma: np.ndarray) -> int | None:
    """The index written by :func:`stamp`, from a frame's luma plane (mirrored or not);
    None if the strip does not read back cleanly."""
    h, w = luma.shape
    width = w // CELLS
    strip = luma[h - CELL_ROWS + 4 : h - 4].astype(np.float32)
    means = [strip[:, c * width + 8 : (c + 1) * width - 8].mean() for c in range(CELLS)]
    cells = [m > 128 for m in means]
    if not cells[0] and cells[-1]:  # the server mirrored the picture
        cells.reverse()
    if not cells[0] or cells[-1] or cells[-2]:
        return None
    bits = [int(b) for b in cells[1 : 1 + INDEX_BITS]]
    if sum(bits) % 2 != int(cells[1 + INDEX_BITS]):
        return None
    return sum(bit << (INDEX_BITS - 1 - i) for i, bit in enumerate(bits))


class FaceCamera(VideoStreamTrack):
    """A 30 fps camera of the astronaut; remembers when each numbered frame left."""

    def __init__(self) -> None:
        super().__init__()
        self.pictures = camera_pictures()
        self.sent_at: dict[int, float] = {}  # index mod 2**16 -> time.monotonic()
        self.sent = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        index = self.sent
        picture = self.pictures[index % len(self.pictures)].copy()
        stamp(picture, index)
        frame = av.VideoFrame.from_ndarray(picture, format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        self.sent_at[index % (1 << INDEX_BITS)] = time.monotonic()
        self.sent += 1
        return frame


@dataclass
class ReturnedVideo:
    """What came back: every frame, the distinct camera frames among them, latencies."""

    frames: int = 0
    distinct: int = 0
    unreadable: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    last_index: int = -1


class StreamlitPage:
    """The browser's half of Streamlit's websocket for one page: runs the script, keeps
    the widget values it has set, follows auto-rerunning fragments, and keeps the
    latest component arguments and on-screen texts it was sent."""

    def __init__(self, url: str) -> None:
        self.ws_url = url.replace("http", "ws", 1).rstrip("/") + "/_stcore/stream"
        self.widgets: dict[str, str] = {}  # widget id -> json value
        self.component_id: str | None = None
        self.component_args: dict = {}
        self.component_changed = asyncio.Event()
        self.texts: list[tuple[float, str]] = []  # (when, alert or markdown), newest last
        self.metrics: dict[str, str] = {}
        self.runs_finished = 0
        self.page_hash = ""
        self._ws = None
        self._pump_task: asyncio.Task | None = None
        self._auto: dict[str, asyncio.Task] = {}

    async def open(self) -> None:
        self._ws = await websockets.connect(
            self.ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=60
        )
        self._pump_task = asyncio.create_task(self._pump())
        await self.rerun()

    async def rerun(self, fragment_id: str = "", auto: bool = False) -> None:
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = ""
        state.page_script_hash = self.page_hash
        state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        for wid, value in self.widgets.items():
            widget = state.widget_states.widgets.add()
            widget.id, widget.json_value = wid, value
        await self._ws.send(msg.SerializeToString())

    async def set_component_value(self, value: dict) -> None:
        """What ``Streamlit.setComponentValue`` does in the component's iframe."""
        self.widgets[self.component_id] = json.dumps(value)
        await self.rerun()

    async def wait_component(self, predicate, timeout: float) -> dict:
        """Wait until the component's arguments satisfy ``predicate``."""
        deadline = time.monotonic() + timeout
        while not (self.component_id and predicate(self.component_args)):
            self.component_changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the Live page's webrtc component did not get there")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.component_changed.wait(), left)
        return self.component_args

    async def close(self) -> None:
        for task in self._auto.values():
            task.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pump_task

    async def _pump(self) -> None:
        async for data in self._ws:
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "navigation" and msg.navigation.page_script_hash:
                # The page now on screen, sent back with every rerun as the browser does:
                # streamlit-webrtc stops a stream whose session reports another page.
                self.page_hash = msg.navigation.page_script_hash
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self._element(msg.delta.new_element)
            elif kind == "auto_rerun":
                self._auto_rerun(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
            elif kind == "stop_auto_rerun":
                for task in self._auto.values():
                    task.cancel()
                self._auto.clear()
            elif kind == "script_finished":
                self.runs_finished += 1

    def _element(self, element) -> None:
        kind = element.WhichOneof("type")
        if kind == "component_instance" and element.component_instance.component_name.endswith(
            COMPONENT.rsplit(".", 1)[-1]
        ):
            self.component_id = element.component_instance.id
            self.component_args = json.loads(element.component_instance.json_args or "{}")
            self.component_changed.set()
        elif kind == "alert":
            self.texts.append((time.monotonic(), element.alert.body))
        elif kind == "markdown":
            self.texts.append((time.monotonic(), element.markdown.body))
        elif kind == "metric":
            self.metrics[element.metric.label] = element.metric.body
        del self.texts[:-50]

    def _auto_rerun(self, fragment_id: str, interval: float) -> None:
        old = self._auto.pop(fragment_id, None)
        if old is not None:
            old.cancel()

        async def tick() -> None:
            while True:
                await asyncio.sleep(interval)
                await self.rerun(fragment_id, auto=True)

        self._auto[fragment_id] = asyncio.create_task(tick())

    def find(self, pattern: str, within_s: float | None = None) -> re.Match | None:
        """The newest text matching ``pattern`` (sent in the last ``within_s`` seconds)."""
        now = time.monotonic()
        for when, text in reversed(self.texts):
            if within_s is not None and now - when > within_s:
                return None
            found = re.search(pattern, text)
            if found:
                return found
        return None

    async def wait_text(self, pattern: str, timeout: float) -> re.Match | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.find(pattern)
            if found:
                return found
            await asyncio.sleep(0.2)
        return None


class LiveClient:
    """One viewer of the Live page: START, stream, STOP, as the browser does."""

    def __init__(self, url: str) -> None:
        self.page = StreamlitPage(url)
        self.camera = FaceCamera()
        self.returned = ReturnedVideo()
        self.pc: RTCPeerConnection | None = None
        self.started_at = 0.0
        self._reader: asyncio.Task | None = None

    async def start(self, timeout: float = 120) -> None:
        """Open the page, press START, wait until the processed video comes back."""
        await self.page.open()
        await self.page.wait_component(lambda args: True, timeout)
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTrack(self.camera)  # a sendrecv transceiver, as getUserMedia's track
        connected = asyncio.Event()
        self.pc.on("track", self._on_track)

        @self.pc.on("connectionstatechange")
        def _state() -> None:
            if self.pc.connectionState == "connected":
                connected.set()

        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = {"type": self.pc.localDescription.type, "sdp": self.pc.localDescription.sdp}
        # aiortc gathers every candidate before the offer exists: none trickle later.
        await self.page.set_component_value(
            {"playing": False, "sdpOffer": offer, "iceCandidates": {}}
        )
        args = await self.page.wait_component(lambda a: bool(a.get("sdp_answer_json")), timeout)
        answer = json.loads(args["sdp_answer_json"])
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await asyncio.wait_for(connected.wait(), timeout)
        await self.page.set_component_value({"playing": True, "sdpOffer": "", "iceCandidates": {}})
        deadline = time.monotonic() + timeout
        while self.returned.distinct == 0:
            if time.monotonic() > deadline:
                raise TimeoutError("no processed frame came back")
            await asyncio.sleep(0.1)
        self.started_at = time.monotonic()

    def _on_track(self, track) -> None:
        if track.kind == "video":
            self._reader = asyncio.create_task(self._read(track))

    async def _read(self, track) -> None:
        r = self.returned
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            r.frames += 1
            plane = frame.planes[0]
            luma = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
            index = read_stamp(luma[: frame.height, : frame.width])
            if index is None:
                r.unreadable += 1
            elif index != r.last_index:
                r.last_index = index
                r.distinct += 1
                sent = self.camera.sent_at.get(index)
                if sent is not None:
                    r.latencies_ms.append((time.monotonic() - sent) * 1e3)

    async def stop(self) -> None:
        """STOP as the component does: playing false, then close the connection."""
        await self.page.set_component_value({"playing": False, "sdpOffer": "", "iceCandidates": {}})
        await asyncio.sleep(0.5)
        if self.pc is not None:
            await self.pc.close()
        if self._reader is not None:
            self._reader.cancel()

    async def close(self) -> None:
        await self.page.close()

    def session_id(self) -> int | None:
        """The recorded session's id, as the page says it ("Recording to session #12")."""
        found = self.page.find(r"session #(\d+)")
        return int(found.group(1)) if found else None

    def summary(self) -> dict:
        r = self.returned
        lat = sorted(r.latencies_ms)
        busy = self.page.find(r"analysing 1 in (\d+) frames", within_s=2.5)
        return {
            "busy_every_n": int(busy.group(1)) if busy else 1,
            "sent": self.camera.sent,
            "returned_frames": r.frames,
            "returned_distinct": r.distinct,
            "unreadable": r.unreadable,
            "latency_median_ms": round(statistics.median(lat), 1) if lat else None,
            "latency_p95_ms": round(lat[int(0.95 * (len(lat) - 1))], 1) if lat else None,
            "session_id": self.session_id(),
            "metrics": dict(self.page.metrics),
        }


async def run(url: str, seconds: float, go_file: str | None = None) -> dict:
    """Start, stream ``seconds`` (measured), stop; the summary as a dict."""
    client = LiveClient(url)
    t0 = time.monotonic()
    await client.start()
    print(json.dumps({"event": "streaming", "session_id": client.session_id(),
                      "start_s": round(time.monotonic() - t0, 2)}), flush=True)  # fmt: skip
    while go_file and not os.path.exists(go_file):  # a barrier: all streams measured together
        await asyncio.sleep(0.1)
    sent0, distinct0, lat0 = (
        client.camera.sent,
        client.returned.distinct,
        len(client.returned.latencies_ms),
    )
    t_measure = time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - t_measure
    summary = client.summary()
    lat = sorted(client.returned.latencies_ms[lat0:])
    summary.update(
        seconds=round(elapsed, 2),
        sent_fps=round((client.camera.sent - sent0) / elapsed, 1),
        returned_fps=round((client.returned.distinct - distinct0) / elapsed, 1),
        latency_median_ms=round(statistics.median(lat), 1) if lat else None,
        latency_p95_ms=round(lat[int(0.95 * (len(lat) - 1))], 1) if lat else None,
        measured_from=time.time() - elapsed,
    )
    await client.stop()
    # After STOP the page says how many frames the stream analysed.
    found = await client.page.wait_text(r"Session (\d+) recorded (\d+) frames", 30)
    summary["page_frames_analysed"] = int(found.group(2)) if found else None
    await client.close()
    return summary


async def visit(url: str, timeout: float = 120) -> None:
    """Open the Live page and leave without streaming (a short-lived tab)."""
    page = StreamlitPage(url)
    await page.open()
    await page.wait_component(lambda args: True, timeout)
    await page.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url", help="the app, e.g. http://127.0.0.1:8501")
    p.add_argument("--seconds", type=float, default=20, help="how long to stream (measured)")
    p.add_argument("--go", help="wait for this file to exist before the measured seconds")
    args = p.parse_args(argv)
    use_loopback_only()
    summary = asyncio.run(run(args.url, args.seconds, args.go))
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
