"""Ray against Dask distributed for batch analysis: the figures behind the engine choice.

    .venv/bin/python benchmarks/bench_engines.py --engine dask
    PYTHONPATH=/tmp/ray .venv/bin/python benchmarks/bench_engines.py --engine ray

(only the chosen engine is in requirements.txt; the other was measured from a
``pip install --target`` folder). Starts a local cluster on 127.0.0.1 with the engine's
own command-line tools (a head/scheduler and two single-process worker nodes), then
measures:

- start-up: from launching the processes until a client sees both workers;
- per-task overhead: 200 no-op tasks, one at a time (round trip) and all at once;
- model delivery: the first task on each worker that needs the classifier and detector
  (loaded once per worker process from the node's own copy of the model file);
- failure handling: a worker process killed (SIGKILL) in the middle of a task, and
  whether and how fast the engine reruns the task on the other worker.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emotion_core.batch_dask import stop_processes  # noqa: E402

HOST = "127.0.0.1"


def _noop(x: int) -> int:
    return x


def _load_model(_: int) -> tuple[int, float]:
    """Load what a batch worker loads once (classifier + detector); returns pid, seconds."""
    t0 = time.perf_counter()
    from emotion_core.classifier import EmotionClassifier
    from emotion_core.detection import FaceDetector

    EmotionClassifier()
    FaceDetector().close()
    return os.getpid(), time.perf_counter() - t0


def _pid_then_sleep(marker: str) -> int:
    """Writes its pid to ``marker`` then sleeps: the test kills that pid."""
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        time.sleep(60)
    return os.getpid()


def _wait_pid(marker: Path, timeout: float = 60) -> int:
    end = time.time() + timeout
    while time.time() < end:
        if marker.exists() and marker.read_text():
            return int(marker.read_text())
        time.sleep(0.05)
    raise TimeoutError("the task never started")


def _log(figures: dict[str, float]) -> None:
    print(" ".join(f"{k}={v:.3f}" for k, v in figures.items()), file=sys.stderr, flush=True)


def _wait_port(host: str, port: int, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as sock:
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port}")


def bench_dask(tmp: Path) -> dict[str, float]:
    from distributed import Client

    port = 28786
    py = sys.executable
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                py,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                HOST,
                "--port",
                str(port),
                "--dashboard-address",
                ":0",
            ],
            stderr=subprocess.DEVNULL,
        )
    ]
    for _ in range(2):
        procs.append(
            subprocess.Popen(
                [
                    py,
                    "-m",
                    "distributed.cli.dask_worker",
                    f"tcp://{HOST}:{port}",
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--host",
                    HOST,
                    "--no-dashboard",
                ],
                stderr=subprocess.DEVNULL,
            )
        )
    try:
        client = Client(f"tcp://{HOST}:{port}", timeout=60)
        client.wait_for_workers(2, timeout=60)
        out = {"startup_s": time.perf_counter() - t0}
        _log(out)
        t = time.perf_counter()
        for i in range(200):
            client.submit(_noop, i, pure=False).result()
        out["task_roundtrip_ms"] = (time.perf_counter() - t) / 200 * 1e3
        t = time.perf_counter()
        client.gather([client.submit(_noop, i, pure=False) for i in range(200)])
        out["task_batched_ms"] = (time.perf_counter() - t) / 200 * 1e3
        _log(out)
        workers = list(client.scheduler_info()["workers"])
        t = time.perf_counter()
        loads = client.gather(
            [client.submit(_load_model, i, workers=[w], pure=False) for i, w in enumerate(workers)]
        )
        out["model_first_task_s"] = time.perf_counter() - t
        out["model_load_in_worker_s"] = max(s for _, s in loads)
        _log(out)
        marker = tmp / "dask.pid"
        t = time.perf_counter()
        fut = client.submit(_pid_then_sleep, str(marker), pure=False, retries=2)
        os.kill(_wait_pid(marker), signal.SIGKILL)
        t_kill = time.perf_counter()
        fut.result(timeout=120)
        out["kill_recovery_s"] = time.perf_counter() - t_kill
        out["kill_total_s"] = time.perf_counter() - t
        _log(out)
        client.close()
        return out
    finally:
        stop_processes(procs)


def bench_ray(tmp: Path) -> dict[str, float]:
    import ray

    port = 26379
    ray_bin = [sys.executable, "-c", "from ray.scripts.scripts import main; main()"]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    common = ["--num-cpus", "1", "--node-ip-address", HOST, "--disable-usage-stats"]
    t0 = time.perf_counter()
    # --block keeps each node in a foreground process that stops its own daemons when
    # terminated, so nothing else on the machine is touched (no `ray stop`).
    procs = [
        subprocess.Popen(
            [
                *ray_bin,
                "start",
                "--head",
                "--block",
                "--port",
                str(port),
                "--include-dashboard=false",
                *common,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        _wait_port(HOST, port)
        procs.append(
            subprocess.Popen(
                [*ray_bin, "start", "--block", "--address", f"{HOST}:{port}", *common],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        ray.init(address=f"{HOST}:{port}", logging_level="ERROR", log_to_driver=False)
        while len([n for n in ray.nodes() if n["Alive"]]) < 2:
            time.sleep(0.1)
        noop = ray.remote(num_cpus=1)(_noop)
        ray.get(noop.remote(0))  # the first task starts a worker process on a node
        out = {"startup_s": time.perf_counter() - t0}
        _log(out)
        t = time.perf_counter()
        for i in range(200):
            ray.get(noop.remote(i))
        out["task_roundtrip_ms"] = (time.perf_counter() - t) / 200 * 1e3
        t = time.perf_counter()
        ray.get([noop.remote(i) for i in range(200)])
        out["task_batched_ms"] = (time.perf_counter() - t) / 200 * 1e3
        _log(out)
        load = ray.remote(num_cpus=1)(_load_model)
        t = time.perf_counter()
        loads = ray.get([load.remote(i) for i in range(2)])
        out["model_first_task_s"] = time.perf_counter() - t
        out["model_load_in_worker_s"] = max(s for _, s in loads)
        _log(out)
        marker = tmp / "ray.pid"
        sleeper = ray.remote(num_cpus=1, max_retries=2)(_pid_then_sleep)
        t = time.perf_counter()
        ref = sleeper.remote(str(marker))
        os.kill(_wait_pid(marker), signal.SIGKILL)
        t_kill = time.perf_counter()
        ray.get(ref, timeout=120)
        out["kill_recovery_s"] = time.perf_counter() - t_kill
        out["kill_total_s"] = time.perf_counter() - t
        _log(out)
        ray.shutdown()
        return out
    finally:
        stop_processes(procs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--engine", choices=["ray", "dask"], required=True)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        bench = bench_ray if args.engine == "ray" else bench_dask
        for key, value in bench(Path(tmp)).items():
            print(f"{args.engine:5s} {key:24s} {value:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
