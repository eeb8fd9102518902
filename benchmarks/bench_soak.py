"""Long run of one app process: many START/STOP cycles and abandoned streams.

    nice -n 10 .venv/bin/python benchmarks/bench_soak.py [--cycles 50] [--seconds 24]

One stream at a time from the headless client (``benchmarks/webrtc_client.py``):
``--cycles`` streams that start, stream ``--seconds`` and stop, and after every
``--drop-every``-th one an extra stream whose client is killed with SIGKILL mid-stream
(no STOP, no goodbye: a closed tab). Reports

- the server's resident memory and thread count: fresh, at the baseline (after a
  first warm-up stream has loaded the model and MediaPipe), during the streams, after
  each cycle, and after the run (10 s, then after Streamlit's 120 s
  ``disconnectedSessionTTL`` has let go of the closed browser sessions and one
  short page visit has made it drop them);
- rows lost: for each stopped stream, the frames the page says were analysed
  ("Session N recorded K frames") against the distinct frames stored for it;
- for each killed client, how many seconds until its session was no longer
  "recording", its final status and its rows.

It measures leaks and loss, not speed: a shared CPU is fine. Writes every figure as
JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import Clients, run_app
from webrtc_client import use_loopback_only, visit

from emotion_core.store import SessionStore, sqlite_url

TTL_S = 120  # Streamlit's server.disconnectedSessionTTL default


def sample(server: psutil.Process, label: str, show: bool = False) -> dict:
    found = {
        "label": label,
        "t": round(time.time(), 1),
        "rss_mb": round(server.memory_info().rss / 2**20, 1),
        "threads": server.num_threads(),
    }
    if show:  # printed as taken, so a run cut short still has its figures
        print(json.dumps(found), flush=True)
    return found


def stored_frames(store: SessionStore, session_id: int) -> int:
    return int(store.load_samples(session_id)["frame_index"].nunique())


def clean_cycle(url: str, store: SessionStore, server, seconds: float, tmp: Path) -> dict:
    """START, stream, STOP; compare the page's analysed count with the store."""
    go = tmp / "go"
    go.touch()
    clients = Clients(url, 1, seconds, go)
    try:
        started = clients.wait_streaming(240)
        if not started:
            return {"kind": "stop", "failed": "did not start"}
        time.sleep(seconds / 2)
        during = sample(server, "during")
        done = clients.summaries(seconds + 120)
    finally:
        clients.stop()
    if not done:
        return {"kind": "stop", "failed": "did not finish", "during": during}
    d = done[0]
    sid = d["session_id"]
    session = store.get_session(sid) if sid else None
    stored = stored_frames(store, sid) if sid else 0
    page = d.get("page_frames_analysed")
    return {
        "kind": "stop",
        "session_id": sid,
        "status": session.status if session else None,
        "page_frames": page,
        "stored_frames": stored,
        "lost": None if page is None else page - stored,
        "returned_fps": d["returned_fps"],
        "during": during,
    }


def dropped_cycle(url: str, store: SessionStore, server, seconds: float, tmp: Path) -> dict:
    """START, stream, then SIGKILL the client; time until the session is closed."""
    go = tmp / "go"
    go.touch()
    clients = Clients(url, 1, 3600, go)
    try:
        started = clients.wait_streaming(240)
        if not started:
            return {"kind": "drop", "failed": "did not start"}
        time.sleep(seconds)
        during = sample(server, "during")
        sid = started[0].get("session_id") or store.list_sessions()[0].id
        clients.procs[0].kill()  # SIGKILL: the kernel closes its sockets, nothing else
        killed = time.monotonic()
        clients.procs[0].wait()
        while store.get_session(sid).status == "recording" and time.monotonic() - killed < 300:
            time.sleep(0.2)
        ended_after = time.monotonic() - killed
    finally:
        clients.stop()
    session = store.get_session(sid)
    return {
        "kind": "drop",
        "session_id": sid,
        "status": session.status,
        "ended_after_s": round(ended_after, 1),
        "stored_frames": stored_frames(store, sid),
        "during": during,
    }


def report(result: dict) -> str:
    s = {x["label"]: x for x in result["samples"]}
    cycles = result["cycles"]
    stops = [c for c in cycles if c["kind"] == "stop" and "failed" not in c]
    drops = [c for c in cycles if c["kind"] == "drop" and "failed" not in c]
    during = [c["during"] for c in cycles if "during" in c]
    after_each = [c["after"] for c in cycles if "after" in c]
    lines = [
        f"streamed {result['streamed_s'] / 60:.1f} min in {len(cycles)} streams "
        f"({len(stops)} stopped, {len(drops)} killed, "
        f"{sum('failed' in c for c in cycles)} failed), run {result['wall_s'] / 60:.1f} min",
        "",
        "| when | server RSS | threads |",
        "|---|---|---|",
    ]
    for label in ("fresh", "baseline"):
        lines.append(f"| {label} | {s[label]['rss_mb']:.0f} MB | {s[label]['threads']} |")
    if during:
        rss = [x["rss_mb"] for x in during]
        thr = [x["threads"] for x in during]
        lines.append(
            f"| while streaming (min-max) | {min(rss):.0f}-{max(rss):.0f} MB "
            f"| {min(thr)}-{max(thr)} |"
        )
    if after_each:
        rss = [x["rss_mb"] for x in after_each]
        thr = [x["threads"] for x in after_each]
        lines.append(
            f"| 3 s after each stream (first / last / max) | {rss[0]:.0f} / {rss[-1]:.0f} / "
            f"{max(rss):.0f} MB | {thr[0]} / {thr[-1]} / {max(thr)} |"
        )
    for label in ("after 10 s", f"after {TTL_S + 20} s"):
        if label in s:
            lines.append(f"| {label} | {s[label]['rss_mb']:.0f} MB | {s[label]['threads']} |")
    lost = [c["lost"] for c in stops if c["lost"] is not None]
    lines += [
        "",
        f"rows lost: {sum(lost)} frames over {len(lost)} stopped streams "
        f"({sum(c['stored_frames'] for c in stops)} frames stored; "
        f"{len(stops) - len(lost)} without the page's count); statuses: "
        f"{sorted({c['status'] for c in stops})}",
    ]
    if drops:
        ends = [c["ended_after_s"] for c in drops]
        lines.append(
            f"killed clients: sessions ended after {statistics.median(ends):.1f} s median "
            f"(max {max(ends):.1f} s), statuses {sorted({c['status'] for c in drops})}, "
            f"rows kept {[c['stored_frames'] for c in drops]}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cycles", type=int, default=50, help="streams started and stopped")
    p.add_argument("--seconds", type=float, default=24, help="seconds each stream runs")
    p.add_argument("--drop-every", type=int, default=10, help="a killed client after every Nth")
    p.add_argument("--drop-seconds", type=float, default=10)
    p.add_argument("--no-ttl-wait", action="store_true", help="skip the 135 s after-run wait")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    use_loopback_only()
    t_start = time.monotonic()
    result: dict = {"samples": [], "cycles": [], "streamed_s": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db = tmp / "soak.db"
        with run_app(tmp, {"EMOTION_DB_URL": sqlite_url(db)}, name="bench-soak") as app:
            store, server = SessionStore(sqlite_url(db)), psutil.Process(app.proc.pid)
            print(f"app {app.url}, pid {server.pid}, load {os.getloadavg()}", flush=True)
            result["samples"].append(sample(server, "fresh", True))
            warm = clean_cycle(app.url, store, server, 5, tmp)
            print("warm-up", json.dumps(warm), flush=True)
            time.sleep(5)
            result["samples"].append(sample(server, "baseline", True))
            for i in range(1, args.cycles + 1):
                cycle = clean_cycle(app.url, store, server, args.seconds, tmp)
                result["streamed_s"] += args.seconds
                time.sleep(3)
                cycle["after"] = sample(server, "after")
                result["cycles"].append(cycle)
                print(i, json.dumps(cycle), flush=True)
                if args.drop_every and i % args.drop_every == 0:
                    drop = dropped_cycle(app.url, store, server, args.drop_seconds, tmp)
                    result["streamed_s"] += args.drop_seconds
                    time.sleep(3)
                    drop["after"] = sample(server, "after")
                    result["cycles"].append(drop)
                    print(i, json.dumps(drop), flush=True)
                if app.proc.poll() is not None:
                    print("the server died", flush=True)
                    break
            time.sleep(10)
            result["samples"].append(sample(server, "after 10 s", True))
            if not args.no_ttl_wait:
                time.sleep(TTL_S + 5)
                # Streamlit drops expired disconnected sessions only when it stores
                # another one: a short visit (open the page, leave) makes it do so.
                asyncio.run(visit(app.url))
                time.sleep(5)
                result["samples"].append(sample(server, f"after {TTL_S + 20} s", True))
            result["load_avg"] = os.getloadavg()
    result["wall_s"] = time.monotonic() - t_start
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
