"""Capacity of one app process: N concurrent Live streams, N = 1, 2, 4, 8 ... until it breaks.

    nice -n 10 .venv/bin/python benchmarks/bench_load.py [--streams 1 2 4 8] [--seconds 25]

Starts the app (``streamlit run app.py`` on 127.0.0.1 with its own SQLite store, as the
browser tests do), then for each N starts N headless clients
(``benchmarks/webrtc_client.py``, one process each, like one browser each): each opens
the Live page, presses START and streams 640x480 at 30 fps of a real face. Once all N
stream, everything is measured over the same ``--seconds``:

- analysed fps per stream: the session's stored frames in the window (the store is
  the truth: every analysed frame is a row), median and lowest stream;
- returned fps and dropped frames: camera frames that came back (each frame carries
  its index in its pixels) against those sent; a frame that never comes back was
  dropped by streamlit-webrtc's queue;
- capture-to-result latency: from a frame leaving the client to the processed frame
  showing it arriving back, median and p95 over all streams;
- "1 in N": what the Live page says when the server sheds analysis work;
- the server's CPU (100% = one core) and resident memory, and the clients' CPU.

It stops after the first N at which a stream fails to start or finish (or the server
dies), or after ``--streams`` is exhausted; ``--until-broken`` keeps doubling N. Prints
a Markdown table; the clients share the machine with the server, say so when quoting.
``--server-cpus 0 --client-cpus 1`` pins the server to one core and the clients to the
other, so the clients' encoding no longer takes the server's CPU: what one core of a
server holds. ``--client-nice 19`` lets the clients have only what the server leaves.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from harness import run_app  # noqa: E402  (the browser tests' app launcher, reused)

from emotion_core.store import SessionStore, samples, sqlite_url  # noqa: E402

CLIENT = Path(__file__).resolve().parent / "webrtc_client.py"
START_TIMEOUT_S = 240  # a page load on a starved 2-core machine can take a minute


class Clients:
    """N client processes; each prints a "streaming" line, then its summary line."""

    def __init__(
        self,
        url: str,
        n: int,
        seconds: float,
        go: Path,
        *extra: str,
        cpus: list[int] | None = None,
        nice: int = 0,
    ) -> None:
        command = [sys.executable, str(CLIENT), url, "--seconds", str(seconds), "--go", str(go)]

        def place() -> None:  # in each client before it starts: its cores and niceness
            if cpus:
                os.sched_setaffinity(0, cpus)
            os.nice(nice)

        self.procs = [
            subprocess.Popen(
                [*command, *extra],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                cwd=ROOT,
                preexec_fn=place,
            )
            for _ in range(n)
        ]
        self.ps = [psutil.Process(proc.pid) for proc in self.procs]
        self.lines = [queue.Queue() for _ in self.procs]
        for proc, lines in zip(self.procs, self.lines, strict=True):
            threading.Thread(target=_pump, args=(proc, lines), daemon=True).start()

    def _next(self, i: int, deadline: float) -> dict | None:
        try:
            line = self.lines[i].get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            return None
        return json.loads(line) if line else None

    def wait_streaming(self, timeout: float) -> list[dict]:
        """The "streaming" line of every client, or fewer if some failed."""
        deadline = time.monotonic() + timeout
        lines = [self._next(i, deadline) for i in range(len(self.procs))]
        return [x for x in lines if x and x.get("event") == "streaming"]

    def summaries(self, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        lines = [self._next(i, deadline) for i in range(len(self.procs))]
        return [x for x in lines if x]

    def cpu_percent(self) -> float:
        """Their CPU since the last call (100 = one core)."""
        total = 0.0
        for proc in self.ps:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.cpu_percent(None)
        return total

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _pump(proc: subprocess.Popen, lines: queue.Queue) -> None:
    """Hand each stdout line of ``proc`` to ``lines``; an empty string when it ends."""
    for line in proc.stdout:
        if line.strip():
            lines.put(line.strip())
    lines.put("")


def pin(process: psutil.Process, cpus: list[int]) -> None:
    """Pin every thread of ``process`` and its children to ``cpus``; threads they start
    later inherit the mask from the thread that starts them."""
    for proc in [process, *process.children(recursive=True)]:
        for thread in proc.threads():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(thread.id, cpus)


def analysed_fps(store: SessionStore, session_id: int, t_from: float, seconds: float) -> float:
    """Distinct analysed frames of the session stored with t_wall in the window, per second."""
    query = sa.select(sa.func.count(sa.distinct(samples.c.frame_index))).where(
        samples.c.session_id == session_id,
        samples.c.t_wall >= t_from,
        samples.c.t_wall < t_from + seconds,
    )
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar()) / seconds


def measure(
    url: str,
    store: SessionStore,
    server: psutil.Process,
    n: int,
    seconds: float,
    client_cpus: list[int] | None = None,
    client_nice: int = 0,
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        go = Path(tmp) / "go"
        clients = Clients(url, n, seconds, go, cpus=client_cpus, nice=client_nice)
        try:
            started = clients.wait_streaming(START_TIMEOUT_S * max(1, n // 2))
            if len(started) < n:
                return {"streams": n, "failed": f"{n - len(started)} of {n} did not start"}
            clients.cpu_percent()
            server.cpu_percent(None)
            load = os.getloadavg()[0]
            go.touch()
            time.sleep(seconds)
            server_cpu, client_cpu = server.cpu_percent(None), clients.cpu_percent()
            rss, threads = server.memory_info().rss / 2**20, server.num_threads()
            done = clients.summaries(seconds + 120)
        finally:
            clients.stop()
    if len(done) < n:
        return {"streams": n, "failed": f"{n - len(done)} of {n} did not finish"}
    time.sleep(1.0)  # the recorder writes every 0.5 s
    fps = [
        analysed_fps(store, d["session_id"], d["measured_from"], d["seconds"])
        if d.get("session_id")
        else 0.0
        for d in done
    ]
    lat_med = [d["latency_median_ms"] for d in done if d["latency_median_ms"] is not None]
    lat_p95 = [d["latency_p95_ms"] for d in done if d["latency_p95_ms"] is not None]
    sent = sum(d["sent_fps"] for d in done)
    returned = sum(d["returned_fps"] for d in done)
    return {
        "streams": n,
        "analysed_fps_median": round(statistics.median(fps), 1),
        "analysed_fps_min": round(min(fps), 1),
        "sent_fps": round(sent / n, 1),
        "returned_fps": round(returned / n, 1),
        "dropped_pct": round(100 * (1 - returned / sent), 1) if sent else None,
        "latency_median_ms": round(statistics.median(lat_med), 0) if lat_med else None,
        "latency_p95_ms": round(max(lat_p95), 0) if lat_p95 else None,
        "busy_every_n": max(d["busy_every_n"] for d in done),
        "server_cpu_pct": round(server_cpu, 0),
        "server_rss_mb": round(rss, 0),
        "server_threads": threads,
        "clients_cpu_pct": round(client_cpu, 0),
        "load_avg_1min": round(load, 1),
    }


def table(rows: list[dict]) -> str:
    head = (
        "| streams | analysed fps per stream (median / lowest) | returned fps | dropped "
        "| latency median / p95 | page says | server CPU | server RSS | clients' CPU "
        "| load avg |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['streams']} | failed: {r['failed']} |||||||||")
            continue
        busy = f"1 in {r['busy_every_n']}" if r["busy_every_n"] > 1 else "every frame"
        lines.append(
            f"| {r['streams']} | {r['analysed_fps_median']} / {r['analysed_fps_min']} "
            f"| {r['returned_fps']} of {r['sent_fps']} sent | {r['dropped_pct']}% "
            f"| {r['latency_median_ms']:.0f} / {r['latency_p95_ms']:.0f} ms | {busy} "
            f"| {r['server_cpu_pct']:.0f}% | {r['server_rss_mb']:.0f} MB "
            f"| {r['clients_cpu_pct']:.0f}% | {r['load_avg_1min']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--streams", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--seconds", type=float, default=25, help="measured seconds per N")
    p.add_argument("--until-broken", action="store_true", help="keep doubling N after the list")
    p.add_argument("--json", type=Path, help="also write the rows here")
    p.add_argument("--server-cpus", type=int, nargs="+", help="pin the app to these CPUs")
    p.add_argument("--client-cpus", type=int, nargs="+", help="pin the clients to these CPUs")
    p.add_argument(
        "--client-nice", type=int, default=0, help="run the clients at this niceness (0-19)"
    )
    args = p.parse_args(argv)
    counts = list(args.streams)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "load.db"
        with run_app(Path(tmp), {"EMOTION_DB_URL": sqlite_url(db)}, name="bench-load") as app:
            store, server = SessionStore(sqlite_url(db)), psutil.Process(app.proc.pid)
            if args.server_cpus:
                pin(server, args.server_cpus)
            print(
                f"app {app.url}, pid {server.pid}, {os.cpu_count()} CPUs; server on "
                f"{args.server_cpus or 'all'}, clients on {args.client_cpus or 'all'} "
                f"at niceness {args.client_nice}",
                flush=True,
            )
            while counts:
                n = counts.pop(0)
                row = measure(
                    app.url, store, server, n, args.seconds, args.client_cpus, args.client_nice
                )
                rows.append(row)
                print(json.dumps(row), flush=True)
                if "failed" in row or app.proc.poll() is not None:
                    break
                if not counts and args.until_broken and n < 64:
                    counts.append(n * 2)
                time.sleep(3)  # let the stopped streams' sessions close
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
