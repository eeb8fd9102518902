"""Ends live streams whose frames stopped coming: a closed tab, a dead laptop, a
dropped network.

Nothing tells the server that a browser tab is gone. Streamlit keeps a disconnected
session for two minutes (for a reconnect) and never shuts it down; streamlit-webrtc
stops its worker only when ICE consent fails, 30 s or more after the last packet. So
the session's numbers would sit unfinished ("recording") all that time. Instead, one
daemon thread per server process checks every watched stream twice a second and calls
its ``end_if_stalled`` hook, which ends the session as ``incomplete`` once no frame has
arrived for its timeout. The thread exits when nothing is watched (no thread is left
behind between streams) and starts again with the next stream.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Protocol

log = logging.getLogger(__name__)


def stall_clock() -> float:
    """The clock of last-frame times and of ``now`` in :meth:`Watched.end_if_stalled`."""
    return time.monotonic()


class Watched(Protocol):
    def end_if_stalled(self, now: float) -> bool:
        """End the stream if it stalled as of ``now`` (``time.monotonic``); True when
        it needs no more watching (ended now or before)."""
        ...


class StallWatchdog:
    def __init__(self, period_s: float = 0.5) -> None:
        self.period_s = period_s
        self._watched: weakref.WeakSet[Watched] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, stream: Watched) -> None:
        with self._lock:
            self._watched.add(stream)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="live-stall-watchdog", daemon=True
                )
                self._thread.start()

    def forget(self, stream: Watched) -> None:
        with self._lock:
            self._watched.discard(stream)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def _run(self) -> None:
        while True:
            time.sleep(self.period_s)
            with self._lock:
                streams = list(self._watched)
                if not streams:
                    self._thread = None
                    return
            for stream in streams:
                try:
                    if stream.end_if_stalled(stall_clock()):
                        self.forget(stream)
                except Exception:  # one broken stream must not stop the others' checks
                    log.exception("stall check failed")
                    self.forget(stream)


WATCHDOG = StallWatchdog()  # one per server process
