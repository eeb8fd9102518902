"""Recording analysed frames into the session store without ever blocking the caller.

The video thread calls :meth:`SessionRecorder.record`, which only converts the result
to plain rows and puts them on a queue. A background writer thread inserts them in
batches every ``flush_interval`` seconds, so an abrupt end (tab closed, process
killed) loses at most that interval of rows.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import weakref
from datetime import UTC, datetime
from typing import Any

from emotion_core.emotions import LABELS
from emotion_core.results import FrameResult
from emotion_core.store import SessionStore

log = logging.getLogger(__name__)

_STOP = object()
_active: weakref.WeakSet[SessionRecorder] = weakref.WeakSet()


def rows_for(result: FrameResult, session_id: int, t_wall: float, t_rel: float) -> list[dict]:
    """Store rows for one analysed frame: one per face, or one no-face row."""
    base = {
        "session_id": session_id,
        "frame_index": result.frame_index,
        "t_wall": t_wall,
        "t_rel": t_rel,
    }
    if not result.faces:
        return [base]
    rows = []
    for f in result.faces:
        row: dict[str, Any] = {
            **base,
            "face_id": f.face_id,
            "x": f.box.x,
            "y": f.box.y,
            "w": f.box.w,
            "h": f.box.h,
            "det_score": f.box.score,
            "label": f.label,
            "confidence": float(f.confidence),
        }
        row.update({f"raw_{e}": float(p) for e, p in zip(LABELS, f.raw)})
        row.update({f"p_{e}": float(p) for e, p in zip(LABELS, f.smoothed)})
        rows.append(row)
    return rows


class SessionRecorder:
    """Writes one session's frames to the store from a background thread.

    ``record`` is safe to call from any single producer thread and never waits on the
    disk. ``stop`` flushes everything and closes the session; it is idempotent and is
    also run at interpreter exit for recorders still open.
    """

    def __init__(
        self,
        store: SessionStore,
        session_id: int,
        flush_interval: float = 0.5,
        max_batch: int = 1000,
    ) -> None:
        self.store, self.session_id = store, session_id
        self.flush_interval, self.max_batch = flush_interval, max_batch
        self.rows_written = 0
        self.write_errors = 0
        self._queue: queue.Queue = queue.Queue()
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"recorder-{session_id}", daemon=True
        )
        self._thread.start()
        _active.add(self)

    @classmethod
    def start(
        cls, store: SessionStore, source: str, settings: dict, **kwargs: Any
    ) -> SessionRecorder:
        """Open a new session in ``store`` and a recorder for it."""
        keys = ("name", "source_name", "started_at", "model_file", "model_hash", "owner")
        session_kwargs = {k: kwargs.pop(k) for k in keys if k in kwargs}
        return cls(store, store.create_session(source, settings, **session_kwargs), **kwargs)

    def record(self, result: FrameResult, t_wall: float, t_rel: float) -> None:
        """Queue one analysed frame (non-blocking). Ignored after :meth:`stop`."""
        if not self._stopped.is_set():
            self._queue.put(rows_for(result, self.session_id, t_wall, t_rel))

    def _run(self) -> None:
        pending: list[dict] = []
        deadline = time.monotonic() + self.flush_interval
        while True:
            timeout = max(deadline - time.monotonic(), 0.0)
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            if item is _STOP:
                self._write(pending)
                return
            if isinstance(item, threading.Event):  # a flush request
                self._write(pending)
                pending = []
                item.set()
                continue
            if item:
                pending.extend(item)
            if len(pending) >= self.max_batch or time.monotonic() >= deadline:
                self._write(pending)
                pending = []
                deadline = time.monotonic() + self.flush_interval

    def _write(self, rows: list[dict]) -> None:
        if not rows:
            return
        try:
            self.store.add_samples(rows)
            self.rows_written += len(rows)
        except Exception:  # a full disk must not kill the stream; count and log it
            self.write_errors += 1
            log.exception("session %d: could not write %d rows", self.session_id, len(rows))

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until every row queued so far is written; False on timeout."""
        if self._stopped.is_set():
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def stop(self, status: str = "complete", ended_at: datetime | None = None) -> None:
        """Flush the remaining rows and mark the session ended."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._queue.put(_STOP)
        self._thread.join(timeout=30)
        self.store.end_session(self.session_id, status, ended_at or datetime.now(UTC))
        _active.discard(self)

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()


@atexit.register
def _stop_all() -> None:
    """Server shutdown: flush and close every recorder still running."""
    for recorder in list(_active):
        try:
            recorder.stop()
        except Exception:
            log.exception("could not close recorder of session %d", recorder.session_id)
