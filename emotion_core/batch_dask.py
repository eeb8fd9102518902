"""Batch tasks on a Dask distributed cluster: the one module that touches Dask's API.

Every node needs this repository (same model file: workers check its SHA-256) and the
pinned packages, and must be able to read the input paths (a shared mount). A worker
plugin loads the model when each worker process starts, and again after the nanny
restarts a killed worker; tasks then only carry the file's path, never the model.
"""

from __future__ import annotations

from typing import Any

from distributed import Client, WorkerPlugin, wait

from emotion_core.batch_tasks import Task, TaskResult, WorkerConfig, run_task, warm_up

CONNECT_TIMEOUT_S = 30


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
