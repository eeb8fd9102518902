"""Where batch tasks run: in this process, a local process pool, or a Dask cluster;
and the one loop that feeds them, retries failures a bounded number of times and reports.

Each runner keeps one model per worker process: the pool's initializer and the Dask
worker plugin load it when the worker starts (and again when Dask's nanny restarts a
killed worker); :func:`emotion_core.batch_tasks.worker_state` reuses it for every task.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from emotion_core.batch_tasks import Task, TaskResult, WorkerConfig, run_task, warm_up
from emotion_core.media import MediaError

WORKER_DIED = "a worker process died (killed, or out of memory) while running it"


class WorkerDied(RuntimeError):
    """The process running a task vanished (the pool reports it for every task it held)."""


class Runner(Protocol):
    workers: int

    def submit(self, task: Task) -> Any: ...

    def wait(self, handles: list[Any]) -> list[Any]:
        """Block until at least one handle is done; return the done ones."""
        ...

    def result(self, handle: Any) -> TaskResult: ...

    def close(self) -> None: ...


class InProcessRunner:
    """Runs each task when it is submitted, in this process (``--workers 1``)."""

    workers = 1

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        warm_up(config)

    def submit(self, task: Task) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(run_task(self.config, task))
        except Exception as exc:
            fut.set_exception(exc)
        return fut

    def wait(self, handles: list[Future]) -> list[Future]:
        return handles

    def result(self, handle: Future) -> TaskResult:
        return handle.result()

    def close(self) -> None:
        pass


class PoolRunner:
    """A local pool of ``workers`` processes (spawned: no TensorFlow or MediaPipe state
    forked from this process), each loading the model once in its initializer. A killed
    worker breaks a ``ProcessPoolExecutor``; the pool is then rebuilt and the tasks that
    were running are retried."""

    def __init__(self, config: WorkerConfig, workers: int) -> None:
        self.config, self.workers = config, workers
        self._pool: ProcessPoolExecutor | None = None
        self._generation = 0  # bumped on each rebuild
        self._born: dict[Future, int] = {}  # the pool generation that ran each task

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=warm_up,
                initargs=(self.config,),
            )
        return self._pool

    def submit(self, task: Task) -> Future:
        try:
            fut = self._executor().submit(run_task, self.config, task)
        except BrokenProcessPool:
            self._restart()
            fut = self._executor().submit(run_task, self.config, task)
        self._born[fut] = self._generation
        return fut

    def wait(self, handles: list[Future]) -> list[Future]:
        return list(wait(handles, return_when=FIRST_COMPLETED).done)

    def result(self, handle: Future) -> TaskResult:
        generation = self._born.pop(handle, self._generation)
        try:
            return handle.result()
        except BrokenProcessPool:
            if generation == self._generation:  # not a pool already rebuilt
                self._restart()
            raise WorkerDied(WORKER_DIED) from None

    def _restart(self) -> None:
        self._generation += 1
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def run_tasks(
    runner: Runner,
    tasks: Iterator[Task],
    retries: int,
    on_result: Callable[[TaskResult], None],
    on_failure: Callable[[Task, str], None],
    on_retry: Callable[[Task, str], None] | None = None,
) -> None:
    """Run every task, at most twice as many in flight as there are workers (so the
    coordinator opens sessions and plans segments only just ahead of the workers).

    A failed task is retried up to ``retries`` times (a refused file as well: on a shared
    mount a read error can be passing), then ``on_failure(task, reason)``; the others
    carry on. Callbacks run in this thread.
    """
    retry: deque[Task] = deque()
    attempts: Counter = Counter()
    in_flight: dict[Any, Task] = {}
    limit = 2 * max(runner.workers, 1)
    while True:
        while len(in_flight) < limit:
            task = retry.popleft() if retry else next(tasks, None)
            if task is None:
                break
            in_flight[runner.submit(task)] = task
        if not in_flight:
            return
        for handle in runner.wait(list(in_flight)):
            task = in_flight.pop(handle)
            try:
                result = runner.result(handle)
            except Exception as exc:
                reason = describe_failure(exc)
                attempts[task.key] += 1
                if attempts[task.key] <= retries:
                    if on_retry is not None:
                        on_retry(task, reason)
                    retry.append(task)
                else:
                    on_failure(task, reason)
            else:
                on_result(result)


def describe_failure(exc: BaseException) -> str:
    """A one-line reason: the user-facing message of a refused file, else the
    exception's type and message."""
    if isinstance(exc, MediaError | WorkerDied):
        return str(exc)
    text = str(exc) or "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text if type(exc).__name__ in text else f"{type(exc).__name__}: {text}"
