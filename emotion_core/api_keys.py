"""API keys of the HTTP API: made, listed, checked and revoked; only their hashes are stored.

A key is ``emo_`` + 32 random bytes (URL-safe base64). It is shown once, when made; the
store keeps its SHA-256 and its first characters (to tell keys apart in a list). A
random 256-bit key needs no slow password hash: nobody can guess it from its SHA-256,
and checking it costs one indexed lookup per request. Each key belongs to an owner (a
user, a team, an e-mail address): the sessions made through a key belong to its owner,
a key sees only its owner's sessions, and an admin key sees every session, including
those made without sign-in (which have no owner): the web app's rule,
:mod:`emotion_core.access`. See README "HTTP API".

    python -m emotion_core.api_keys create --owner NAME [--admin] [--note TEXT] [--db URL]
    python -m emotion_core.api_keys list [--db URL]
    python -m emotion_core.api_keys revoke ID [--db URL]

Exit codes: 0 done, 2 unknown key id or bad argument (message on stderr).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from emotion_core.access import Viewer
from emotion_core.store import (
    DEFAULT_DB_PATH,
    OWNER_MAX,
    SessionStore,
    api_keys,
    clean_note,
    sqlite_url,
)

KEY_PREFIX = "emo_"
KEY_BYTES = 32
SHOWN_CHARS = 10  # "emo_" + 6 characters: enough to tell keys apart, useless to an attacker


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never the key itself)."""

    id: int
    prefix: str
    owner: str
    admin: bool
    note: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def viewer(self) -> Viewer:
        """The key as a viewer of sessions: the web app's access rule (emotion_core.access)."""
        return Viewer(owner=self.owner, sees_all=self.admin)

    def may_see(self, session_owner: str | None) -> bool:
        """Whether this key may read or delete a session owned by ``session_owner``."""
        return self.viewer.may_see(session_owner)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def clean_owner(owner: str) -> str:
    """An owner name as stored: stripped, not empty, at most :data:`OWNER_MAX` characters."""
    text = owner.strip()
    if not text or len(text) > OWNER_MAX or not text.isprintable():
        raise ValueError(f"an owner is 1-{OWNER_MAX} printable characters, not {owner!r}")
    return text


def create_key(
    store: SessionStore, owner: str, admin: bool = False, note: str = ""
) -> tuple[str, ApiKey]:
    """Make a key for ``owner``; returns the key (shown once, not stored) and its record."""
    key = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
    values = {
        "key_hash": hash_key(key),
        "prefix": key[:SHOWN_CHARS],
        "owner": clean_owner(owner),
        "admin": admin,
        "note": clean_note(note),
        "created_at": datetime.now(UTC),
    }
    with store.engine.begin() as conn:
        key_id = int(conn.execute(api_keys.insert().values(**values)).inserted_primary_key[0])
    return key, _record({"id": key_id, "revoked_at": None, **values})


def verify_key(store: SessionStore, key: str) -> ApiKey | None:
    """The active key record for ``key``, or None when it is unknown or revoked."""
    if not key.startswith(KEY_PREFIX):
        return None
    query = sa.select(api_keys).where(
        api_keys.c.key_hash == hash_key(key), api_keys.c.revoked_at.is_(None)
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return None if row is None else _record(row)


def list_keys(store: SessionStore) -> list[ApiKey]:
    """Every key, revoked ones included, oldest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(api_keys).order_by(api_keys.c.id)).mappings().all()
    return [_record(r) for r in rows]


def revoke_key(store: SessionStore, key_id: int) -> bool:
    """Revoke a key at once (its next request gets 401); False if there is no such key.
    Revoking twice keeps the first revocation time."""
    with store.engine.begin() as conn:
        found = conn.execute(sa.select(api_keys.c.id).where(api_keys.c.id == key_id)).first()
        if found is None:
            return False
        conn.execute(
            api_keys.update()
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    return True


def _record(row) -> ApiKey:
    def utc(value: datetime | None) -> datetime | None:  # SQLite hands back naive times
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)

    return ApiKey(
        id=int(row["id"]),
        prefix=row["prefix"],
        owner=row["owner"],
        admin=bool(row["admin"]),
        note=row["note"],
        created_at=utc(row["created_at"]),
        revoked_at=utc(row["revoked_at"]),
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m emotion_core.api_keys", description=__doc__)
    p.add_argument(
        "--db",
        default=os.environ.get("EMOTION_DB_URL") or sqlite_url(DEFAULT_DB_PATH),
        help="SQLAlchemy URL of the store (default: EMOTION_DB_URL or data/ SQLite)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="make a key and print it (shown only once)")
    create.add_argument("--owner", required=True, help="who the key's sessions belong to")
    create.add_argument("--admin", action="store_true", help="the key sees every session")
    create.add_argument("--note", default="", help="what the key is for (shown in the list)")
    sub.add_parser("list", help="every key: id, first characters, owner, state")
    revoke = sub.add_parser("revoke", help="revoke a key by its id (see list)")
    revoke.add_argument("id", type=int)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    store = SessionStore(args.db)
    try:
        if args.command == "create":
            try:
                key, record = create_key(store, args.owner, args.admin, args.note)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            role = "admin key" if record.admin else "key"
            print(f"{role} {record.id} for {record.owner!r} (shown once):", file=sys.stderr)
            print(key)
        elif args.command == "list":
            for k in list_keys(store):
                state = "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d %H:%M}"
                role = "admin" if k.admin else "owner"
                print(f"{k.id}\t{k.prefix}…\t{role}\t{k.owner}\t{state}\t{k.note}")
        elif not revoke_key(store, args.id):
            print(f"error: no API key with id {args.id}", file=sys.stderr)
            return 2
        else:
            print(f"key {args.id} revoked", file=sys.stderr)
    finally:
        store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
