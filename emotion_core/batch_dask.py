"""Batch tasks on a Dask distributed cluster: the one module that touches Dask's API.

Every node needs this repository (same model file: workers check its SHA-256) and the
pinned packages, and must be able to read the input paths (a shared mount). A worker
plugin loads the model when each worker process starts, and again after the nanny
restarts a killed worker; tasks then only carry the file's path, never the model.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from distributed import Client, WorkerPlugin, wait

from emotion_core.batch_tasks import Task, TaskResult, WorkerConfig, run_task, warm_up

CONNECT_TIMEOUT_S = 30
REPO_ROOT = Path(__file__).resolve().parent.parent


class ModelPlugin(WorkerPlugin):
    """Loads the model once in each worker process."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config

    def setup(self, worker: Any) -> None:
        warm_up(self.config)


class DaskRunner:
    """Submits tasks to the cluster at ``address`` (``tcp://host:8786``)."""

    def __init__(self, config: WorkerConfig, address: str) -> None:
        self.config = config
        self.client = Client(address, timeout=CONNECT_TIMEOUT_S)
        self.client.register_plugin(ModelPlugin(config), name="emotion-model")
        threads = self.client.nthreads()
        if not threads:
            self.client.close()
            raise ConnectionError(f"the Dask cluster at {address} has no workers")
        self.workers = sum(threads.values())

    def submit(self, task: Task) -> Any:
        return self.client.submit(run_task, self.config, task, pure=False)

    def wait(self, handles: list[Any]) -> list[Any]:
        return list(wait(handles, return_when="FIRST_COMPLETED").done)

    def result(self, handle: Any) -> TaskResult:
        try:
            return handle.result()
        finally:
            handle.release()

    def close(self) -> None:
        self.client.close()


def stop_processes(procs: list[subprocess.Popen]) -> None:
    """Terminate processes started for a cluster, last first (killed if they linger)."""
    for p in reversed(procs):
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@contextmanager
def local_cluster(workers: int, log: Path, timeout_s: float = 90) -> Iterator[str]:
    """A real cluster on this machine, for tests and benchmarks: a scheduler and
    ``workers`` single-threaded worker nodes, each its own process started with Dask's
    command-line tools on 127.0.0.1 (nothing listens beyond loopback). Yields the
    scheduler address once every worker has joined; stops exactly those processes."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    py, loopback = sys.executable, ["--host", "127.0.0.1", "--no-dashboard"]
    scheduler = [py, "-m", "distributed.cli.dask_scheduler", "--port", str(port), *loopback]
    worker = [py, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", *loopback]
    with Path(log).open("w") as out:
        procs = [subprocess.Popen(scheduler, env=env, stdout=out, stderr=out)]
        procs += [subprocess.Popen(worker, env=env, stdout=out, stderr=out) for _ in range(workers)]
        try:
            with Client(address, timeout=timeout_s) as client:
                client.wait_for_workers(workers, timeout=timeout_s)
            yield address
        finally:
            stop_processes(procs)
