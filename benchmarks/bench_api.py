"""HTTP API throughput and latency for one-face 640x480 JPEGs, with locust (headless).

    .venv/bin/python benchmarks/bench_api.py [--users 1 4 16] [--seconds 30]

Starts ``python -m api`` on a free localhost port with a temporary SQLite store and one
API key, then for each number of concurrent clients runs locust headless for a fixed
time against 127.0.0.1 only (each client posts the picture again as soon as it has its
answer). Prints requests per second and the median and 95th-percentile latency (locust
rounds latencies above 100 ms to two significant digits), and the load average, since
on a shared machine other work takes part of the CPU.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import httpx
import numpy as np
import skimage.data

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emotion_core.api_keys import create_key  # noqa: E402
from emotion_core.store import SessionStore, sqlite_url  # noqa: E402
from tests.api_server import ApiServer  # noqa: E402

W, H, SIDE = 640, 480, 440  # as benchmarks/bench_video.py: BlazeFace finds her at 440 px
WARMUP_REQUESTS = 5
LOCUST_GRACE_S = 60  # on top of the run time, before the locust process is killed


def write_jpeg(path: Path) -> Path:
    """The astronaut (440 px) centred on a grey 640x480 canvas, JPEG quality 90."""
    face = cv2.resize(cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR), (SIDE, SIDE))
    canvas = np.full((H, W, 3), 60, np.uint8)
    y, x = (H - SIDE) // 2, (W - SIDE) // 2
    canvas[y : y + SIDE, x : x + SIDE] = face
    cv2.imwrite(str(path), canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def run_locust(url: str, users: int, seconds: int, env: dict, out: Path) -> dict:
    """One headless locust run; returns its aggregated row of the stats CSV."""
    prefix = out / f"u{users}"
    cmd = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile_api.py"),
        "--headless", "--only-summary", "-u", str(users), "-r", str(users),
        "-t", f"{seconds}s", "--host", url, "--csv", str(prefix), "--loglevel", "WARNING",
    ]  # fmt: skip
    subprocess.run(cmd, env=env, check=False, timeout=seconds + LOCUST_GRACE_S)
    with open(f"{prefix}_stats.csv", newline="") as fh:
        return next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--users", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--seconds", type=int, default=30)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        image = write_jpeg(tmp / "face.jpg")
        url = sqlite_url(tmp / "bench.db")
        store = SessionStore(url)
        key, _ = create_key(store, "bench")
        store.dispose()
        env = {**os.environ, "EMOTION_API_KEY": key, "EMOTION_BENCH_IMAGE": str(image)}
        rows = []
        with ApiServer(url, tmp / "server.log") as server:
            headers = {"Authorization": f"Bearer {key}"}
            for _ in range(WARMUP_REQUESTS):
                files = {"files": ("face.jpg", image.read_bytes(), "image/jpeg")}
                r = httpx.post(f"{server.url}/v1/analyze/image", files=files, headers=headers)
                r.raise_for_status()
            for users in args.users:
                load_before = os.getloadavg()[0]
                stats = run_locust(server.url, users, args.seconds, env, tmp)
                rows.append((users, stats, load_before, os.getloadavg()[0]))
    print("| clients | requests/s | median ms | p95 ms | requests | failures | load avg |")
    print("|---|---|---|---|---|---|---|")
    for users, s, before, after in rows:
        print(
            f"| {users} | {float(s['Requests/s']):.1f} | {s['50%']} | {s['95%']} "
            f"| {s['Request Count']} | {s['Failure Count']} | {before:.1f} -> {after:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
