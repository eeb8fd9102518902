"""The session store: SQLAlchemy Core on SQLite (default) or PostgreSQL.

Five tables: ``sessions`` (one row per webcam/image/video session, with its settings,
the model file that produced its numbers and its owner), ``samples`` (one row per face per
analysed frame; a frame with no face is one row with empty face columns, so "face
present %" can be computed), ``markers`` (moments a user marked, with a short note) and
``gaps`` (stretches deliberately not analysed or not recorded: a pause, recording
switched off) and ``api_keys`` (SHA-256 hashes of the HTTP API's keys, each tied to an
owner: :mod:`emotion_core.api_keys`). Numbers and short notes only, never pictures.
The sample columns are defined once here (:data:`SAMPLE_COLUMNS`) and used by the
recorder, the analytics and the CSV reports.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from emotion_core.emotions import LABELS, UNCERTAIN

log = logging.getLogger(__name__)

# 2: markers, gaps, sessions.model_file / model_hash; 3: owner, api_keys;
# 4: an index on sessions.owner (every signed-in page lists by owner)
SCHEMA_VERSION = 4
SOURCES = ("webcam", "image", "video")
STATUSES = ("recording", "complete", "incomplete")
DEFAULT_DB_PATH = Path("data") / "emotion_sessions.db"
MARKER_NOTE_MAX = 100  # characters: a label such as "question 3", not a transcript
OWNER_MAX = 200  # characters: an e-mail address, a user or a team name
GAP_REASONS = ("paused", "not recorded")
SCHEMA_LOCK_KEY = 0x456D6F74  # PostgreSQL advisory lock held while creating/migrating

RAW_COLUMNS = tuple(f"raw_{e}" for e in LABELS)
PROB_COLUMNS = tuple(f"p_{e}" for e in LABELS)
SAMPLE_COLUMNS: tuple[str, ...] = (
    "session_id", "frame_index", "t_wall", "t_rel", "face_id",
    "x", "y", "w", "h", "det_score",
    *RAW_COLUMNS, *PROB_COLUMNS,
    "label", "confidence",
)  # fmt: skip

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
metadata = sa.MetaData()
schema_info = sa.Table("schema_info", metadata, sa.Column("version", sa.Integer, nullable=False))
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("source_name", sa.String(500)),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("settings_json", sa.Text, nullable=False),
    sa.Column("model_file", sa.String(500)),  # schema 2; NULL for older sessions
    sa.Column("model_hash", sa.String(64)),  # SHA-256 of the model file, hex
    # schema 3: who the session belongs to (emotion_core.access): the signed-in user of
    # the web app or the API key's owner; NULL for sessions made without sign-in, which
    # only admins see once sign-in is configured.
    sa.Column("owner", sa.String(OWNER_MAX)),
    sa.Index("ix_sessions_owner", "owner"),  # schema 4
)
# Columns added to ``sessions`` by each schema version (new tables come from create_all).
_ADDED_SESSION_COLUMNS = {2: ("model_file", "model_hash"), 3: ("owner",)}
# Indexes on ``sessions`` added by each schema version (create_all skips existing tables).
_ADDED_SESSION_INDEXES = {4: ("ix_sessions_owner",)}


def _session_id() -> sa.Column:
    """The owning session of a row: deleting the session deletes its rows."""
    return sa.Column(
        "session_id", _BigId, sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False
    )


samples = sa.Table(
    "samples",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    _session_id(),
    sa.Column("frame_index", sa.Integer, nullable=False),
    sa.Column("t_wall", sa.Float(53), nullable=False),  # Unix time, seconds
    sa.Column("t_rel", sa.Float(53), nullable=False),  # seconds since the session's start
    sa.Column("face_id", sa.Integer),
    *(sa.Column(c, sa.Integer) for c in ("x", "y", "w", "h")),
    sa.Column("det_score", sa.Float),
    *(sa.Column(c, sa.Float) for c in RAW_COLUMNS + PROB_COLUMNS),
    sa.Column("label", sa.String(16)),
    sa.Column("confidence", sa.Float),
    sa.Index("ix_samples_session_time", "session_id", "t_rel"),
)
markers = sa.Table(
    "markers",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    _session_id(),
    sa.Column("t_rel", sa.Float(53), nullable=False),  # seconds since the session's start
    sa.Column("t_wall", sa.Float(53), nullable=False),  # Unix time, seconds
    sa.Column("note", sa.String(MARKER_NOTE_MAX), nullable=False),
    sa.Index("ix_markers_session", "session_id"),
)
gaps = sa.Table(
    "gaps",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    _session_id(),
    sa.Column("t_start", sa.Float(53), nullable=False),  # t_rel seconds
    sa.Column("t_end", sa.Float(53), nullable=False),
    sa.Column("reason", sa.String(16), nullable=False),
    sa.Index("ix_gaps_session", "session_id"),
)
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),  # SHA-256, hex
    sa.Column("prefix", sa.String(16), nullable=False),  # the key's first characters, shown
    sa.Column("owner", sa.String(OWNER_MAX), nullable=False),
    sa.Column("admin", sa.Boolean, nullable=False, default=False),
    sa.Column("note", sa.String(MARKER_NOTE_MAX), nullable=False, default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)
MARKER_COLUMNS = ("session_id", "t_rel", "t_wall", "note")
GAP_COLUMNS = ("session_id", "t_start", "t_end", "reason")


@dataclass(frozen=True)
class SessionInfo:
    """A session with the summary figures the history list shows."""

    id: int
    name: str
    source: str
    source_name: str | None
    started_at: datetime
    ended_at: datetime | None
    status: str
    settings: dict[str, Any]
    frames: int = 0
    faces: int = 0
    dominant: str | None = None  # most frequent label, "uncertain" not counted
    last_t_rel: float = 0.0
    model_file: str | None = None  # the model that produced the numbers (schema 2)
    model_hash: str | None = None
    owner: str | None = None  # schema 3: its signed-in user or API key owner; None: nobody

    @property
    def duration_s(self) -> float:
        """Seconds from start to end (or to the last sample of an unfinished session)."""
        if self.ended_at is not None:
            return max((self.ended_at - self.started_at).total_seconds(), self.last_t_rel)
        return self.last_t_rel


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path)}"


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every datetime leaving the store is UTC-aware."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class SessionStore:
    """All reads and writes of sessions and samples. Thread-safe (pooled connections,
    short transactions); safe for several processes on PostgreSQL, and for several
    threads/processes on one SQLite file thanks to WAL mode and a busy timeout."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite"):
            db_path = sa.engine.make_url(url).database
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = sa.create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._create_schema()

    def _create_schema(self) -> None:
        """Create missing tables, and migrate a database written by an older version
        in place (its sessions and samples are kept). On PostgreSQL several app processes
        may open a fresh database at once (the deployment's replicas): a transaction-level
        advisory lock lets one create or migrate while the others wait, then see it done."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK_KEY)))
            metadata.create_all(conn)  # also adds the tables new since schema 1
            version = conn.execute(sa.select(sa.func.max(schema_info.c.version))).scalar()
            if version is None:
                conn.execute(schema_info.insert().values(version=SCHEMA_VERSION))
                return
            present = {c["name"] for c in sa.inspect(conn).get_columns("sessions")}
            for target, names in sorted(_ADDED_SESSION_COLUMNS.items()):
                if version >= target:
                    continue
                for name in names:
                    if name not in present:
                        ddl = sessions.c[name].type.compile(dialect=conn.dialect)
                        conn.exec_driver_sql(f"ALTER TABLE sessions ADD COLUMN {name} {ddl}")
            indexes = {i.name: i for i in sessions.indexes}
            for target, names in sorted(_ADDED_SESSION_INDEXES.items()):
                if version < target:
                    for name in names:
                        indexes[name].create(conn, checkfirst=True)
            if version < SCHEMA_VERSION:
                conn.execute(schema_info.update().values(version=SCHEMA_VERSION))
                log.info("store %s migrated: schema %d -> %d", self.url, version, SCHEMA_VERSION)

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(schema_info.c.version))).scalar())

    # -- sessions ------------------------------------------------------------------
    def create_session(
        self,
        source: str,
        settings: dict[str, Any],
        name: str | None = None,
        source_name: str | None = None,
        started_at: datetime | None = None,
        model_file: str | None = None,
        model_hash: str | None = None,
        owner: str | None = None,
    ) -> int:
        """Open a session (status "recording") and return its id. ``model_file`` and
        ``model_hash`` name the model whose numbers the session will hold; ``owner`` is
        who it belongs to (:mod:`emotion_core.access`; None: made without sign-in)."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        started = started_at or datetime.now(UTC)
        default_name = f"{source.capitalize()} {started.astimezone():%Y-%m-%d %H:%M:%S}"
        with self.engine.begin() as conn:
            result = conn.execute(
                sessions.insert().values(
                    name=name or default_name,
                    source=source,
                    source_name=source_name,
                    started_at=started,
                    status="recording",
                    settings_json=json.dumps(settings),
                    model_file=model_file,
                    model_hash=model_hash,
                    owner=owner,
                )
            )
            return int(result.inserted_primary_key[0])

    def end_session(
        self, session_id: int, status: str = "complete", ended_at: datetime | None = None
    ) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
        with self.engine.begin() as conn:
            conn.execute(
                sessions.update()
                .where(sessions.c.id == session_id)
                .values(status=status, ended_at=ended_at or datetime.now(UTC))
            )

    def rename_session(self, session_id: int, name: str) -> None:
        name = name.strip()
        if not name:
            raise ValueError("a session name cannot be empty")
        with self.engine.begin() as conn:
            query = sessions.update().where(sessions.c.id == session_id)
            conn.execute(query.values(name=name[:200]))

    def delete_session(self, session_id: int) -> None:
        """Remove the session, its samples, markers and gaps (privacy: nothing is kept)."""
        with self.engine.begin() as conn:
            for table in (samples, markers, gaps):
                conn.execute(table.delete().where(table.c.session_id == session_id))
            conn.execute(sessions.delete().where(sessions.c.id == session_id))

    def list_sessions(self, owner: str | None = None) -> list[SessionInfo]:
        """Every session with its summary figures, newest first; only ``owner``'s when
        given (sessions without an owner are then left out)."""
        return self._sessions(None if owner is None else sessions.c.owner == owner)

    def get_session(self, session_id: int) -> SessionInfo | None:
        found = self._sessions(sessions.c.id == session_id)
        return found[0] if found else None

    def _sessions(self, where: sa.ColumnElement[bool] | None) -> list[SessionInfo]:
        """The sessions matching ``where`` (all when None) with their summary figures,
        newest first; the figures are computed only over those sessions' samples."""
        where = sa.true() if where is None else where
        mine = samples.c.session_id.in_(sa.select(sessions.c.id).where(where))
        stats = (
            sa.select(
                samples.c.session_id,
                sa.func.count(sa.distinct(samples.c.frame_index)).label("frames"),
                sa.func.count(sa.distinct(samples.c.face_id)).label("faces"),
                sa.func.max(samples.c.t_rel).label("last_t_rel"),
            )
            .where(mine)
            .group_by(samples.c.session_id)
            .subquery()
        )
        labels = (
            sa.select(samples.c.session_id, samples.c.label, sa.func.count().label("n"))
            .where(mine, samples.c.label.is_not(None), samples.c.label != UNCERTAIN)
            .group_by(samples.c.session_id, samples.c.label)
        )
        query = (
            sa.select(sessions, stats.c.frames, stats.c.faces, stats.c.last_t_rel)
            .select_from(sessions.outerjoin(stats, stats.c.session_id == sessions.c.id))
            .where(where)
            .order_by(sessions.c.started_at.desc(), sessions.c.id.desc())
        )
        with self.engine.connect() as conn:
            dominant: dict[int, tuple[int, str]] = {}
            for sid, label, n in conn.execute(labels):
                if sid not in dominant or n > dominant[sid][0]:
                    dominant[sid] = (n, label)
            return [
                _session_info(row, dominant.get(row.id, (0, None))[1])
                for row in conn.execute(query)
            ]

    # -- samples -------------------------------------------------------------------
    def add_samples(self, rows: list[dict[str, Any]]) -> None:
        """Insert sample rows (dicts keyed by :data:`SAMPLE_COLUMNS`) in one transaction."""
        if rows:
            full = [{c: row.get(c) for c in SAMPLE_COLUMNS} for row in rows]
            with self.engine.begin() as conn:
                conn.execute(samples.insert(), full)

    def replace_samples(
        self, session_id: int, first_frame: int, end_frame: int | None, rows: list[dict[str, Any]]
    ) -> None:
        """Replace the session's rows with ``first_frame <= frame_index < end_frame``
        (None: to the end) by ``rows``, in one transaction: a batch task that is run
        again after a crash writes its frames once."""
        full = [{c: row.get(c) for c in SAMPLE_COLUMNS} for row in rows]
        where = [samples.c.session_id == session_id, samples.c.frame_index >= first_frame]
        if end_frame is not None:
            where.append(samples.c.frame_index < end_frame)
        with self.engine.begin() as conn:
            conn.execute(samples.delete().where(*where))
            if full:
                conn.execute(samples.insert(), full)

    def renumber_faces(
        self, session_id: int, first_frame: int, end_frame: int | None, ids: dict[int, int]
    ) -> None:
        """Map face ids (old -> new, all at once, so swaps are safe) on the session's
        rows with ``first_frame <= frame_index < end_frame``: how a video analysed in
        segments gets the face ids one pass would have given."""
        changed = {old: new for old, new in ids.items() if old != new}
        if not changed:
            return
        where = [
            samples.c.session_id == session_id,
            samples.c.frame_index >= first_frame,
            samples.c.face_id.in_(list(changed)),
        ]
        if end_frame is not None:
            where.append(samples.c.frame_index < end_frame)
        new_id = sa.case(changed, value=samples.c.face_id)
        with self.engine.begin() as conn:
            conn.execute(samples.update().where(*where).values(face_id=new_id))

    def load_samples(self, session_id: int) -> pd.DataFrame:
        """All samples of a session as a DataFrame with :data:`SAMPLE_COLUMNS`, in time order."""
        query = (
            sa.select(*(samples.c[c] for c in SAMPLE_COLUMNS))
            .where(samples.c.session_id == session_id)
            .order_by(samples.c.t_rel, samples.c.frame_index, samples.c.face_id, samples.c.id)
        )
        with self.engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).fetchall(), columns=list(SAMPLE_COLUMNS))
        for col in ("face_id", "x", "y", "w", "h"):
            frame[col] = frame[col].astype("Int64")
        return frame

    def count_samples(self, session_id: int | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(samples)
        if session_id is not None:
            query = query.where(samples.c.session_id == session_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar())

    # -- markers and gaps ----------------------------------------------------------
    def add_marker(self, session_id: int, t_rel: float, note: str, t_wall: float) -> int:
        """Store a marked moment; ``note`` is plain text, stripped, at most
        :data:`MARKER_NOTE_MAX` characters (ValueError beyond, nothing stored)."""
        clean = clean_note(note)
        with self.engine.begin() as conn:
            result = conn.execute(
                markers.insert().values(
                    session_id=session_id, t_rel=float(t_rel), t_wall=float(t_wall), note=clean
                )
            )
            return int(result.inserted_primary_key[0])

    def load_markers(self, session_id: int) -> pd.DataFrame:
        """The session's markers in time order, columns :data:`MARKER_COLUMNS`."""
        return self._load_in_time_order(markers, MARKER_COLUMNS, "t_rel", session_id)

    def add_gap(self, session_id: int, t_start: float, t_end: float, reason: str) -> None:
        """Store a stretch (t_rel seconds) deliberately not analysed or not recorded."""
        if reason not in GAP_REASONS:
            raise ValueError(f"reason must be one of {GAP_REASONS}, not {reason!r}")
        if t_end < t_start:
            raise ValueError(f"a gap cannot end ({t_end}) before it starts ({t_start})")
        with self.engine.begin() as conn:
            conn.execute(
                gaps.insert().values(
                    session_id=session_id, t_start=t_start, t_end=t_end, reason=reason
                )
            )

    def load_gaps(self, session_id: int) -> pd.DataFrame:
        """The session's gaps in time order, columns :data:`GAP_COLUMNS`."""
        return self._load_in_time_order(gaps, GAP_COLUMNS, "t_start", session_id)

    def _load_in_time_order(
        self, table: sa.Table, columns: tuple[str, ...], time_column: str, session_id: int
    ) -> pd.DataFrame:
        """One session's rows of a per-session table, by time then insertion order."""
        query = (
            sa.select(*(table.c[c] for c in columns))
            .where(table.c.session_id == session_id)
            .order_by(table.c[time_column], table.c.id)
        )
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query).fetchall(), columns=list(columns))

    def dispose(self) -> None:
        self.engine.dispose()


def _session_info(row: Any, dominant: str | None) -> SessionInfo:
    return SessionInfo(
        id=int(row.id),
        name=row.name,
        source=row.source,
        source_name=row.source_name,
        started_at=_utc(row.started_at),
        ended_at=_utc(row.ended_at),
        status=row.status,
        settings=json.loads(row.settings_json),
        frames=int(row.frames or 0),
        faces=int(row.faces or 0),
        dominant=dominant,
        last_t_rel=float(row.last_t_rel or 0.0),
        model_file=row.model_file,
        model_hash=row.model_hash,
        owner=row.owner,
    )


def clean_note(note: str) -> str:
    """A marker note as stored: plain text on one line, stripped, length-checked."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in note).split())
    if len(text) > MARKER_NOTE_MAX:
        raise ValueError(f"a marker note has at most {MARKER_NOTE_MAX} characters")
    return text


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL lets the UI read while the recorder writes; the busy timeout makes a second
    writer wait instead of failing with "database is locked"."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
