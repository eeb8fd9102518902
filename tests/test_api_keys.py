"""API keys and session owners in the store (SQLite and PostgreSQL), the keys CLI, and
the migration of schema-2 stores."""

from __future__ import annotations

import sqlalchemy as sa
from pg_env import reopened_at_schema
from test_analytics import make_session

from emotion_core import api_keys
from emotion_core.store import SCHEMA_VERSION


def test_a_key_is_stored_only_as_its_hash_and_verifies(store):
    key, record = api_keys.create_key(store, "alice", note="lab laptop")
    assert key.startswith("emo_") and len(key) > 40
    with store.engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(sa.select(api_keys.api_keys))]
    assert not any(key in str(value) for row in stored for value in row)
    assert api_keys.verify_key(store, key) == record
    assert (record.owner, record.admin, record.note) == ("alice", False, "lab laptop")
    assert key.startswith(record.prefix) and len(record.prefix) == api_keys.SHOWN_CHARS


def test_wrong_and_revoked_keys_do_not_verify(store):
    key, record = api_keys.create_key(store, "alice")
    assert api_keys.verify_key(store, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert api_keys.verify_key(store, "") is None
    assert api_keys.revoke_key(store, record.id)
    assert api_keys.verify_key(store, key) is None
    [listed] = api_keys.list_keys(store)
    assert not listed.active
    assert not api_keys.revoke_key(store, record.id + 100)


def test_sessions_are_listed_per_owner(store):
    mine = store.create_session("image", {}, owner="alice")
    theirs = store.create_session("image", {}, owner="bob")
    web = make_session(store)  # made in the web app: no owner
    assert [s.id for s in store.list_sessions(owner="alice")] == [mine]
    assert {s.id for s in store.list_sessions()} == {mine, theirs, web}
    assert store.get_session(theirs).owner == "bob" and store.get_session(web).owner is None
    alice = api_keys.create_key(store, "alice")[1]
    admin = api_keys.create_key(store, "ops", admin=True)[1]
    assert alice.may_see("alice") and not alice.may_see("bob") and not alice.may_see(None)
    assert admin.may_see("bob") and admin.may_see(None)


def test_get_session_figures_match_the_full_list(store):
    sid = make_session(store)
    make_session(store)
    assert store.get_session(sid) == next(s for s in store.list_sessions() if s.id == sid)
    assert store.get_session(sid + 100) is None


def test_a_schema_2_store_gains_owners_and_keys_and_keeps_its_sessions(store):
    sid = make_session(store)
    schema_2 = (
        "DROP TABLE api_keys",
        "DROP INDEX ix_sessions_owner",  # schema 4
        "ALTER TABLE sessions DROP COLUMN owner",
    )
    with reopened_at_schema(store, 2, *schema_2) as migrated:
        assert migrated.schema_version() == SCHEMA_VERSION == 4
        [info] = migrated.list_sessions()
        assert (info.id, info.owner, info.frames) == (sid, None, 12)
        assert migrated.list_sessions(owner="alice") == []
        key, _ = api_keys.create_key(migrated, "alice")
        assert api_keys.verify_key(migrated, key).owner == "alice"


def test_cli_creates_lists_and_revokes(store, capsys):
    db = ["--db", store.url]
    assert api_keys.main([*db, "create", "--owner", "alice", "--note", "survey tool"]) == 0
    out = capsys.readouterr()
    key = out.out.strip()
    assert api_keys.verify_key(store, key).owner == "alice" and "shown once" in out.err
    assert api_keys.main([*db, "create", "--owner", "ops", "--admin"]) == 0
    capsys.readouterr()
    assert api_keys.main([*db, "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and key not in "".join(lines)
    assert "alice" in lines[0] and "survey tool" in lines[0] and "admin" in lines[1]
    key_id = int(lines[0].split("\t")[0])
    assert api_keys.main([*db, "revoke", str(key_id)]) == 0
    assert api_keys.verify_key(store, key) is None
    assert api_keys.main([*db, "revoke", "999"]) == 2
    assert "no API key with id 999" in capsys.readouterr().err
    assert api_keys.main([*db, "create", "--owner", "  "]) == 2
