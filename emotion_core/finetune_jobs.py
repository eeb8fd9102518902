"""Fine-tune jobs as background processes: start, follow, cancel, one at a time.

Each job is a folder under the jobs folder (``<id>/`` with ``job.json``, the command's
``status.json`` and ``output.log``, and ``checkpoints/log.csv`` with one line per
epoch), so everything a page shows is on disk: a browser refresh, another browser or a
restarted server finds the running job again. The job runs ``python -m
emotion_core.finetune`` in its own process (and session, so a cancel reaches the whole
group), never in the server's threads.

One at a time per jobs folder: :meth:`FinetuneJobs.start` takes an exclusive
``flock`` on ``finetune.lock`` and hands the locked file to the child, then lets go of
its own copy. The kernel releases the lock when the child ends, however it ends
(done, failed, cancelled, SIGKILL, a crashed server), so "is a job running" is simply
"is the lock taken", never a stale pid file.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emotion_core.finetune import CHECKPOINTS, STATUS_NAME, FinetuneSettings, check_faces
from emotion_core.finetune import parent_keras as check_parent
from emotion_core.model_versions import sweep_partial

log = logging.getLogger(__name__)

DEFAULT_JOBS_DIR = Path("data") / "finetune"  # relative to the project root
LOCK_NAME = "finetune.lock"
CURRENT_NAME = "current"  # the id of the job that took the lock last
JOB_NAME = "job.json"
OUTPUT_NAME = "output.log"
CANCEL_NAME = "cancel_requested"
CANCEL_GRACE_S = 30.0  # after SIGTERM, SIGKILL if the job has not ended
# The job yields the CPU to the server: live streams and pages stay smooth meanwhile.
JOB_NICENESS = 10
KEEP_JOBS = 10
LOCK_RETRIES = 10  # x 50 ms  # older job folders (logs only, no faces) are pruned at each start
FINAL_PHASES = ("done", "failed", "cancelled")
PROJECT_ROOT = Path(__file__).resolve().parent.parent  # where ``-m emotion_core`` resolves


class FinetuneBusy(RuntimeError):
    """Another fine-tune holds the lock; the message tells the user to wait."""


@dataclass(frozen=True)
class JobStatus:
    """What a page shows about one job, read from its folder."""

    job_id: str
    running: bool
    phase: str  # starting, checking, preparing, training, measuring, publishing, done…
    message: str = ""
    error: str | None = None
    version: str | None = None
    started_at: float = 0.0
    epochs_total: int = 0
    epochs: list[dict[str, float]] = field(default_factory=list)  # log.csv rows
    cancel_requested: bool = False

    @property
    def finished(self) -> bool:
        return self.phase in FINAL_PHASES

    @property
    def last_val_accuracy(self) -> float | None:
        return self.epochs[-1].get("val_accuracy") if self.epochs else None


class FinetuneJobs:
    """The fine-tune jobs of one jobs folder. Safe to use from any thread or process:
    all state is in the folder, and starting is serialised by the lock."""

    def __init__(self, jobs_dir: str | Path, niceness: int = JOB_NICENESS) -> None:
        self.root = Path(jobs_dir)
        self.niceness = niceness  # added to the server's own, for the jobs it starts

    # -- starting ----------------------------------------------------------------------
    def start(
        self,
        parent: Path,
        faces: Path,
        models_dir: Path,
        settings: FinetuneSettings,
        fer2013: Path | None = None,
    ) -> str:
        """Check the input, take the lock and start the job; returns its id.

        Raises TrainingDataError (bad or too few faces, a parent without weights: said
        before any process starts) or :class:`FinetuneBusy` (a job is running).
        """
        check_faces(Path(faces), settings.min_per_emotion)
        check_parent(Path(parent))
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _try_lock(fd, LOCK_RETRIES):
                raise FinetuneBusy(self._busy_message())
            sweep_partial(models_dir)  # no job runs: leftovers of a killed one can go
            self._prune()
            job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
            job = self.root / job_id
            job.mkdir()
            (self.root / CURRENT_NAME).write_text(job_id)
            argv = _command(parent, faces, models_dir, job, settings, fer2013, self.niceness)
            pid = _spawn(argv, job / OUTPUT_NAME, fd)
            info = {"pid": pid, "started_at": time.time(), "argv": argv,
                    "epochs": settings.epochs, "parent": str(parent)}  # fmt: skip
            (job / JOB_NAME).write_text(json.dumps(info, indent=1))
            log.info("fine-tune %s started (pid %d)", job_id, pid)
            return job_id
        finally:
            os.close(fd)  # the lock stays with the child's copy of the file

    def running(self) -> bool:
        """True while some job holds the lock."""
        path = self.root / LOCK_NAME
        if not path.is_file():
            return False
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    # -- following ---------------------------------------------------------------------
    def latest(self) -> JobStatus | None:
        """The newest job (running or not), or None before the first one."""
        ids = self._job_ids()
        return self.status(ids[-1]) if ids else None

    def status(self, job_id: str) -> JobStatus:
        """The job's state from its folder. A job that ended without a final status
        (killed, crashed) is reported as failed. Also reaps the ended child and, for a
        cancel that SIGTERM did not end in time, sends SIGKILL."""
        job = self.root / job_id
        info = _read_json(job / JOB_NAME)
        status = _read_json(job / STATUS_NAME)
        pid = info.get("pid")
        _reap(pid)
        running = self.running() and self._current() == job_id
        cancel_at = _mtime(job / CANCEL_NAME)
        if running and cancel_at and time.time() - cancel_at > CANCEL_GRACE_S and pid:
            _signal_group(pid, signal.SIGKILL)
        phase = status.get("phase", "starting")
        error = status.get("error")
        if not running and phase not in FINAL_PHASES and info:
            phase = "cancelled" if cancel_at else "failed"
            error = None if cancel_at else f"The job stopped unexpectedly; see {job / OUTPUT_NAME}"
        return JobStatus(
            job_id=job_id,
            running=running,
            phase=phase,
            message=status.get("message", ""),
            error=error,
            version=status.get("version"),
            started_at=info.get("started_at", 0.0),
            epochs_total=int(status.get("epochs") or info.get("epochs") or 0),
            epochs=_read_epochs(job / CHECKPOINTS / "log.csv"),
            cancel_requested=cancel_at is not None,
        )

    def output_tail(self, job_id: str, lines: int = 20) -> str:
        """The last lines of the job's output (for a failed job's details)."""
        path = self.root / job_id / OUTPUT_NAME
        if not path.is_file():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # -- cancelling --------------------------------------------------------------------
    def cancel(self, job_id: str) -> bool:
        """Ask the running job to stop (SIGTERM to its process group; it deletes its
        partial model and copied faces). False if that job is not running."""
        if not (self.running() and self._current() == job_id):
            return False
        pid = _read_json(self.root / job_id / JOB_NAME).get("pid")
        if not pid:
            return False
        (self.root / job_id / CANCEL_NAME).touch()
        _signal_group(pid, signal.SIGTERM)
        return True

    def wait(self, job_id: str, timeout: float, poll: float = 0.5) -> JobStatus:
        """Block until the job ends or ``timeout`` seconds pass (commands and tests;
        pages poll :meth:`status` instead)."""
        deadline = time.time() + timeout
        while True:
            status = self.status(job_id)
            if not status.running or time.time() > deadline:
                return status
            time.sleep(poll)

    # -- internals ---------------------------------------------------------------------
    def _job_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / JOB_NAME).is_file())

    def _current(self) -> str | None:
        path = self.root / CURRENT_NAME
        return path.read_text().strip() if path.is_file() else None

    def _busy_message(self) -> str:
        current = self._current()
        status = self.status(current) if current else None
        since = (
            f" (started {time.strftime('%H:%M', time.localtime(status.started_at))})"
            if status and status.started_at
            else ""
        )
        return (
            f"Another fine-tune is running on this server{since}. Only one runs at a time: "
            "wait for it to finish (or cancel it) and start again."
        )

    def _prune(self) -> None:
        for job_id in self._job_ids()[:-KEEP_JOBS]:
            shutil.rmtree(self.root / job_id, ignore_errors=True)


def _command(
    parent: Path,
    faces: Path,
    models_dir: Path,
    job: Path,
    settings: FinetuneSettings,
    fer2013: Path | None,
    niceness: int,
) -> list[str]:
    """The fine-tune command line for a job (absolute paths: it runs from the project)."""
    paths = {"--parent": parent, "--faces": faces, "--models-dir": models_dir, "--job-dir": job}
    if fer2013 is not None:
        paths["--fer2013"] = fer2013
    return [
        sys.executable, "-m", "emotion_core.finetune",
        *(arg for flag, path in paths.items() for arg in (flag, str(Path(path).resolve()))),
        "--niceness", str(niceness), *settings.to_argv(),
    ]  # fmt: skip


def _spawn(argv: list[str], output: Path, lock_fd: int) -> int:
    """Start the job detached from the server's threads; returns its pid (which is also
    its process group id). The child inherits ``lock_fd`` and so holds the lock."""
    with output.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: cancel reaches it all
            pass_fds=(lock_fd,),
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return proc.pid


def _try_lock(fd: int, attempts: int) -> bool:
    """Take the exclusive lock, retrying briefly: :meth:`FinetuneJobs.running` holds it
    for an instant when it checks, which must not read as a running job."""
    for attempt in range(attempts):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt + 1 < attempts:
                time.sleep(0.05)
    return False


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _read_epochs(path: Path) -> list[dict[str, float]]:
    """train.py's per-epoch CSV (epoch from 0, accuracy, val_accuracy, loss, …) as
    rows with 1-based epochs; a line being written is skipped."""
    if not path.is_file():
        return []
    rows = []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                values = {k: float(v) for k, v in row.items() if k and v not in (None, "")}
            except ValueError:
                continue
            if "epoch" in values:
                values["epoch"] += 1
                rows.append(values)
    return rows


def _reap(pid: int | None) -> None:
    """Collect an ended child of this process so it does not linger as a zombie."""
    if not pid:
        return
    with contextlib.suppress(ChildProcessError):  # not our child: another server's
        os.waitpid(pid, os.WNOHANG)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
