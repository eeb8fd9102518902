"""The access rule (emotion_core.access) on SQLite and PostgreSQL, the signed-in identity,
the owner options of the CLIs, and the schema 4 migration."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pg_env import reopened_at_schema
from test_analytics import make_session

from emotion_core import api_keys, report
from emotion_core.access import (
    STREAMLIT_COOKIE_MAX_AGE_S,
    NoSuchSession,
    SessionAccess,
    SignInPolicy,
    Viewer,
    identity,
    parse_admins,
    parse_max_age,
)
from emotion_core.analyze import main as analyze_main
from emotion_core.store import SCHEMA_VERSION, SessionStore, sessions, sqlite_url

ALICE, BOB, ADMIN = "alice@lab.test", "bob@lab.test", "ops@lab.test"
FORGED_IDS = ("abc", "1 OR 1=1", "", 1.0, True, None, [1], "-1", 10**12)


def owned(store: SessionStore, owner: str | None, name: str = "") -> int:
    """The known test session (12 frames), belonging to ``owner``."""
    sid = make_session(store)
    with store.engine.begin() as conn:
        values = {"owner": owner} | ({"name": name} if name else {})
        conn.execute(sessions.update().where(sessions.c.id == sid).values(**values))
    return sid


@pytest.fixture
def three(store):
    """Alice's, Bob's and an old session without an owner."""
    return store, owned(store, ALICE), owned(store, BOB), owned(store, None)


# -- identity and policy -------------------------------------------------------------
def test_identity_is_the_lower_cased_email_else_the_subject():
    assert identity({"sub": "x1", "email": " Alice@Lab.TEST "}) == ALICE
    assert identity({"sub": "x1", "email": ALICE, "email_verified": True}) == ALICE
    assert identity({"sub": "x1", "email": ALICE, "email_verified": False}) == "x1"
    assert identity({"sub": "Opaque-42"}) == "Opaque-42"  # sub keeps its case
    with pytest.raises(ValueError, match="neither"):
        identity({"email": "", "is_logged_in": True})


def test_admins_parse_from_a_string_or_a_list_and_compare_like_identities():
    assert parse_admins("Ops@Lab.test, carol@lab.test  Sub-7") == {ADMIN, "carol@lab.test", "Sub-7"}
    assert parse_admins(["ops@lab.test"]) == {ADMIN}
    assert parse_admins(None) == parse_admins("") == frozenset()
    policy = SignInPolicy(admins=parse_admins("OPS@lab.test"))
    assert policy.viewer({"sub": "1", "email": "ops@LAB.test"}) == Viewer(ADMIN, sees_all=True)
    assert policy.viewer({"sub": "2", "email": ALICE}) == Viewer(ALICE, sees_all=False)


def test_a_sign_in_expires_max_age_after_the_token_was_issued():
    claims = {"sub": "1", "email": ALICE, "iat": 1000}
    assert SignInPolicy().max_age_s == STREAMLIT_COOKIE_MAX_AGE_S
    short = SignInPolicy(max_age_s=60)
    assert short.expires_at(claims) == 1060
    assert not short.expired(claims, now=1059.9) and short.expired(claims, now=1060)
    assert not short.expired({"sub": "1"}, now=10**10)  # no iat: Streamlit's cookie decides
    with pytest.raises(ValueError):
        SignInPolicy(max_age_s=0)


@pytest.mark.parametrize("bad", ["30d", "0", "-5", "nan", "inf"])
def test_a_malformed_sign_in_lifetime_is_named_in_the_message(bad):
    assert parse_max_age(None) == parse_max_age(" ") == STREAMLIT_COOKIE_MAX_AGE_S
    assert parse_max_age("3600") == parse_max_age(3600) == 3600.0
    with pytest.raises(ValueError, match=f"EMOTION_SIGNIN_MAX_AGE_S .* not '{bad}'"):
        parse_max_age(bad)


def test_the_api_keys_use_the_same_rule():
    key = api_keys.ApiKey(1, "emo_x", ALICE, False, "", None, None)  # type: ignore[arg-type]
    assert key.viewer == Viewer(ALICE) and key.may_see(ALICE) and not key.may_see(None)


# -- the rule on the store (SQLite and PostgreSQL) -------------------------------------
def test_each_user_lists_only_their_own_sessions_admins_and_open_servers_all(three):
    store, alice, bob, old = three
    assert [s.id for s in SessionAccess(store, Viewer(ALICE)).list()] == [alice]
    assert [s.id for s in SessionAccess(store, Viewer(BOB)).list()] == [bob]
    everyone = {alice, bob, old}
    assert {s.id for s in SessionAccess(store, Viewer(ADMIN, sees_all=True)).list()} == everyone
    assert {s.id for s in SessionAccess(store, Viewer.anyone()).list()} == everyone
    assert SessionAccess(store, Viewer("nobody@lab.test")).list() == []


def test_another_users_session_is_refused_like_a_missing_one_and_left_untouched(three):
    store, alice, bob, old = three
    mine = SessionAccess(store, Viewer(ALICE))
    bob_rows = store.count_samples(bob)
    assert mine.get(alice).id == alice and mine.get(str(alice)).id == alice
    missing = max(alice, bob, old) + 100
    for sid in (bob, old, missing):
        for action in (mine.get, mine.delete, mine.report_csv, lambda i: mine.rename(i, "x")):
            with pytest.raises(NoSuchSession) as caught:
                action(sid)
            assert str(caught.value) == f"There is no session #{sid}, or it is not yours."
    bob_info = store.get_session(bob)
    assert bob_info.name != "x" and store.count_samples(bob) == bob_rows  # nothing changed


def test_forged_ids_are_no_such_session_never_an_error(three):
    store = three[0]
    mine = SessionAccess(store, Viewer(ALICE))
    for forged in FORGED_IDS:
        with pytest.raises(NoSuchSession) as caught:
            mine.get(forged)
        assert str(caught.value) in (
            f"There is no session #{forged}, or it is not yours.",
            "There is no such session, or it is not yours.",  # not echoed: not a number
        )
    markdown = "![x](http://example.org/pixel.png)"
    assert str(NoSuchSession(markdown)) == "There is no such session, or it is not yours."


def test_owners_rename_delete_and_download_their_own(three):
    store, alice, bob, old = three
    mine = SessionAccess(store, Viewer(ALICE))
    assert mine.report_csv(alice, "summary") == report.report_csv(store, alice, kind="summary")
    mine.rename(alice, "<b>mine</b>")
    assert store.get_session(alice).name == "<b>mine</b>"  # stored as typed, shown as text
    mine.delete(alice)
    assert store.get_session(alice) is None and store.count_samples(alice) == 0
    admin = SessionAccess(store, Viewer(ADMIN, sees_all=True))
    admin.delete(old)  # admins manage sessions without an owner
    assert {s.id for s in admin.list()} == {bob}


def test_a_schema_3_store_is_migrated_and_its_old_sessions_belong_to_no_one(store):
    old = owned(store, None)
    with reopened_at_schema(store, 3, "DROP INDEX ix_sessions_owner") as migrated:
        assert migrated.schema_version() == SCHEMA_VERSION == 4
        indexes = {i["name"] for i in sa.inspect(migrated.engine).get_indexes("sessions")}
        assert "ix_sessions_owner" in indexes
        assert SessionAccess(migrated, Viewer(ALICE)).list() == []
        admin = SessionAccess(migrated, Viewer(ADMIN, sees_all=True))
        assert [(s.id, s.owner, s.frames) for s in admin.list()] == [(old, None, 12)]


# -- the CLIs ----------------------------------------------------------------------------
def test_report_owner_option_reports_only_that_owners_sessions(tmp_path, capsys):
    store = SessionStore(sqlite_url(tmp_path / "cli.db"))
    alice, bob = owned(store, ALICE), owned(store, BOB)
    out = tmp_path / "a.csv"
    db = ["--db", store.url, "--owner", "Alice@Lab.test"]
    assert report.main(["--session", str(alice), "--out", str(out), *db]) == 0
    assert out.read_bytes() == report.report_csv(store, alice)
    assert report.main(["--session", str(bob), "--out", str(tmp_path / "b.csv"), *db]) == 2
    err = capsys.readouterr().err
    assert f"no session #{bob}, or it is not yours" in err and "Traceback" not in err
    assert not (tmp_path / "b.csv").exists()
    store.dispose()


def test_analyze_owner_needs_db_and_owns_the_saved_sessions(tmp_path, astronaut_frame, capsys):
    import cv2

    photo = tmp_path / "a.png"
    cv2.imwrite(str(photo), astronaut_frame)
    out, db = tmp_path / "r.csv", sqlite_url(tmp_path / "s.db")
    with pytest.raises(SystemExit) as stopped:
        analyze_main([str(photo), "--out", str(out), "--owner", ALICE])
    assert stopped.value.code == 2 and "--owner needs --db" in capsys.readouterr().err
    args = [str(photo), "--out", str(out), "--db", db, "--workers", "1"]
    assert analyze_main([*args, "--owner", "Alice@Lab.test"]) == 0
    store = SessionStore(db)
    try:
        [info] = store.list_sessions()
        assert info.owner == ALICE and info.frames == 1
        assert [s.id for s in SessionAccess(store, Viewer(ALICE)).list()] == [info.id]
        assert SessionAccess(store, Viewer(BOB)).list() == []
    finally:
        store.dispose()
