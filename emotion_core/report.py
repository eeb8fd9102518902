"""CSV reports of one session: per-frame detail, a one-row summary, its markers and
its notable moments.

:func:`report_csv` is the one producer of the bytes, used by the Session analytics
page's download buttons and by the command line::

    python -m emotion_core.report --session ID [--out file.csv] [--db URL] \\
        [--owner NAME] [--summary | --markers | --moments]

``--owner`` reports only that owner's sessions (emotion_core.access): another owner's
session is refused like a missing one. Without it the command sees every session, as
whoever can read the database can.

Exit codes: 0 written, 2 unknown session (message on stderr).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from datetime import UTC
from pathlib import Path

import pandas as pd

from emotion_core import analytics, moments
from emotion_core.csv_text import safe_table
from emotion_core.emotions import LABELS, UNCERTAIN
from emotion_core.store import (
    DEFAULT_DB_PATH,
    MARKER_COLUMNS,
    SAMPLE_COLUMNS,
    SessionInfo,
    SessionStore,
)
from emotion_core.store import sqlite_url as _sqlite_url

KINDS = ("detail", "summary", "markers", "moments")
INT_COLUMNS = ("session_id", "frame_index")
NULLABLE_INT_COLUMNS = ("face_id", "x", "y", "w", "h")  # empty on a no-face row


class UnknownSession(LookupError):
    """The store has no session with that id."""


def _kind(summary: bool, kind: str | None) -> str:
    kind = kind or ("summary" if summary else "detail")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    return kind


def report_filename(info: SessionInfo, summary: bool = False, kind: str | None = None) -> str:
    """``emotion-session-<id>-<UTC start, 2026-11-23T10-55-00>-<kind>.csv``, kind one of
    :data:`KINDS` (``summary=True`` is ``kind="summary"``)."""
    start = f"{info.started_at.astimezone(UTC):%Y-%m-%dT%H-%M-%S}"
    return f"emotion-session-{info.id}-{start}-{_kind(summary, kind)}.csv"


def summary_frame(
    info: SessionInfo,
    samples: pd.DataFrame,
    markers: pd.DataFrame | None = None,
    gaps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row: the session's metadata and model, headline figures, emotion shares,
    bands, how many markers and notable moments it has, its strongest moment, and how
    long it was paused / not recorded."""
    s = analytics.summarize(samples)
    shares = analytics.emotion_shares(samples)
    bands = analytics.confidence_bands(samples)
    row = {
        "session_id": info.id,
        "name": info.name,
        "source": info.source,
        "source_name": info.source_name,
        "status": info.status,
        "started_at": info.started_at.isoformat(),
        "ended_at": info.ended_at.isoformat() if info.ended_at else None,
        "duration_s": info.duration_s,
        "frames": s.frames,
        "faces": s.faces,
        "rows": len(samples),
        "face_frame_share": s.face_frame_share,
        "dominant": s.dominant,
        "mean_confidence": s.mean_confidence,
        "uncertain_share": s.uncertain_share,
        **{f"share_{e}": float(shares[e]) for e in (*LABELS, UNCERTAIN)},
        **{f"band_{k}_share": v for k, v in zip(("high", "medium", "low"), bands["share"])},
        "model_file": info.model_file,
        "model_hash": info.model_hash,
        "markers": 0 if markers is None else len(markers),
        **_moments_summary(moments.notable_moments(samples, gaps)),
        **{f"{r.replace(' ', '_')}_s": _gap_seconds(gaps, r) for r in ("paused", "not recorded")},
    }
    return pd.DataFrame([row])


def _moments_summary(found: pd.DataFrame) -> dict:
    """How many moments of each kind, and the strongest one in words."""
    counts = found["kind"].value_counts()
    row = {f"moments_{k}": int(counts.get(k, 0)) for k in ("sustained", "change", "unusual")}
    top = None
    if len(found):
        m = found.loc[found["strength"].idxmax()]
        top = f"{m['start']:.1f}-{m['end']:.1f} s, face {m['face_id']}: {m['what']}"
    return row | {"strongest_moment": top}


def _gap_seconds(gaps: pd.DataFrame | None, reason: str) -> float:
    if gaps is None or gaps.empty:
        return 0.0
    mine = gaps[gaps["reason"] == reason]
    return float((mine["t_end"] - mine["t_start"]).sum())


def report_csv(
    store: SessionStore, session_id: int, summary: bool = False, kind: str | None = None
) -> bytes:
    """The detail CSV (every column of every stored row), the summary CSV, the markers
    CSV (``session_id, t_rel, t_wall, note``) or the notable-moments CSV
    (``session_id`` + :data:`moments.COLUMNS`), UTF-8, text that a spreadsheet would run
    as a formula (a name or note starting with ``=``) quoted as text (``csv_text``).

    Raises :class:`UnknownSession` for an id the store does not hold."""
    kind = _kind(summary, kind)
    info = store.get_session(session_id)
    if info is None:
        raise UnknownSession(f"no session with id {session_id} in the store")
    if kind == "markers":
        table = store.load_markers(session_id)[list(MARKER_COLUMNS)]
    elif kind == "moments":
        found = moments.notable_moments(store.load_samples(session_id), store.load_gaps(session_id))
        table = found.assign(session_id=session_id)[["session_id", *moments.COLUMNS]]
    elif kind == "summary":
        table = summary_frame(
            info,
            store.load_samples(session_id),
            store.load_markers(session_id),
            store.load_gaps(session_id),
        )
    else:
        table = store.load_samples(session_id)[list(SAMPLE_COLUMNS)]
    buf = io.StringIO()
    safe_table(table).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def read_detail_csv(source: str | Path | io.IOBase) -> pd.DataFrame:
    """Parse a detail CSV back into the dtypes :meth:`SessionStore.load_samples` gives."""
    dtypes = {c: "int64" for c in INT_COLUMNS} | {c: "Int64" for c in NULLABLE_INT_COLUMNS}
    return pd.read_csv(source, dtype=dtypes, float_precision="round_trip")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m emotion_core.report", description=__doc__)
    p.add_argument("--session", type=int, required=True, help="session id (see the app)")
    p.add_argument("--out", type=Path, help="output file (default: the report's file name)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--summary", action="store_true", help="the one-row summary, not detail")
    kind.add_argument("--markers", action="store_true", help="the session's markers")
    kind.add_argument("--moments", action="store_true", help="its notable moments")
    p.add_argument(
        "--db",
        default=os.environ.get("EMOTION_DB_URL") or _sqlite_url(DEFAULT_DB_PATH),
        help="SQLAlchemy URL of the store (default: EMOTION_DB_URL or data/ SQLite)",
    )
    p.add_argument("--owner", help="only this owner's sessions (an app user's e-mail address)")
    return p


def main(argv: list[str] | None = None) -> int:
    # here: emotion_core.access builds on this module's report_csv
    from emotion_core.access import NoSuchSession, SessionAccess, Viewer, owner_name

    args = _parser().parse_args(argv)
    store = SessionStore(args.db)
    viewer = Viewer.anyone() if args.owner is None else Viewer(owner_name(args.owner))
    try:
        sessions = SessionAccess(store, viewer)
        info = sessions.get(args.session)
        kind = next((k for k in ("summary", "markers", "moments") if getattr(args, k)), "detail")
        data = sessions.report_csv(args.session, kind=kind)
    except (UnknownSession, NoSuchSession) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.dispose()
    out = args.out or Path(report_filename(info, kind=kind))
    out.write_bytes(data)
    print(f"session {args.session} -> {out} ({len(data)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
