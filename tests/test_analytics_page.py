"""The Session analytics page under Streamlit's AppTest, on a temporary SQLite store."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_analytics import make_session

from emotion_core.store import SessionStore
from ui.history import PICK_KEY
from ui.resources import LAST_SESSION_KEY

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60


def _page() -> AppTest:
    """The page inside the app's navigation, so its page links resolve."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    return at.switch_page("pages/analytics.py")


def _one_face_session(store: SessionStore) -> int:
    sid = make_session(store)
    with store.engine.begin() as conn:  # keep face 0 only
        conn.exec_driver_sql("DELETE FROM samples WHERE face_id = 1")
    return sid


def test_empty_store_shows_the_first_step_not_an_error(db):
    at = _page().run()
    assert not at.exception and not at.error
    assert "No sessions yet" in at.info[0].value
    assert not at.selectbox


def test_one_session_shows_figures_and_charts(db):
    sid = _one_face_session(db)
    at = _page().run()
    assert not at.exception and not at.error
    assert at.selectbox(key=PICK_KEY).value == sid
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Frames analysed"] == "12"
    assert metrics["Frames with a face"] == "83%"
    assert metrics["Dominant emotion"] == "happy"
    assert metrics["Uncertain"] == "10%"  # 1 of face 0's 10 rows
    assert len(at.get("plotly_chart")) == 5  # timeline, trajectory, share, bands, transitions
    assert not at.segmented_control  # no face selector for one face
    assert [b.key for b in at.get("download_button")] == [
        "download_detail",
        "download_summary",
        "download_markers",
        "download_moments",
    ]


def test_two_faces_get_a_selector_and_the_time_range_filters(db):
    sid = make_session(db)
    at = _page().run()
    assert len(at.get("plotly_chart")) == 7  # two faces: two timelines, two trajectories
    at.segmented_control(key=f"face_{sid}").set_value(1).run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Dominant emotion"] == "neutral"
    assert len(at.get("plotly_chart")) == 5
    at.slider(key=f"range_{sid}").set_value((5.0, 5.5)).run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Frames with a face"] == "0%"


def test_last_recorded_session_is_preselected_and_rename_and_delete_work(db):
    first = make_session(db)
    make_session(db)  # newer by id, same start
    at = _page()
    at.session_state[LAST_SESSION_KEY] = first
    at.run()
    assert at.selectbox(key=PICK_KEY).value == first
    at.text_input(key=f"rename_{first}").set_value("Team meeting")
    at.button(key=f"rename_btn_{first}").click().run()
    assert db.get_session(first).name == "Team meeting"
    assert at.button(key="delete_btn").disabled  # not without the confirmation
    at.checkbox(key=f"confirm_delete_{first}").check().run()
    at.button(key="delete_btn").click().run()
    assert not at.exception
    assert db.get_session(first) is None and db.count_samples(first) == 0
    assert len(db.list_sessions()) == 1


def test_the_page_file_runs_on_its_own(db):
    make_session(db)
    at = AppTest.from_file(str(ROOT / "pages" / "analytics.py"), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Session analytics"


def test_switching_sessions_gives_each_its_own_time_range(db):
    short = _one_face_session(db)
    at = _page().run()
    at.slider(key=f"range_{short}").set_value((1.0, 2.0)).run()
    longer = db.create_session("webcam", {})
    db.add_samples([{"session_id": longer, "frame_index": i, "t_rel": i * 10.0, "t_wall": 0.0}
                    for i in range(10)])  # fmt: skip
    at.run()
    at.selectbox(key=PICK_KEY).set_value(longer).run()
    assert not at.exception
    assert at.slider(key=f"range_{longer}").value == (0.0, 90.0)
    assert {m.label: m.value for m in at.metric}["Frames with a face"] == "0%"
    at.selectbox(key=PICK_KEY).set_value(short).run()
    assert not at.exception and at.slider(key=f"range_{short}").value == (0.0, 5.5)


HOUR_RERUN_MAX_S = 10.0  # generous: training shares the CPU; idle it is well under 2 s


@pytest.mark.slow
def test_an_hour_long_session_stays_responsive(db):
    from test_analytics import long_session

    sid = db.create_session("webcam", {})
    rows = long_session().assign(session_id=sid, t_wall=0.0)
    db.add_samples(rows.astype(object).where(rows.notna(), None).to_dict("records"))
    at = _page().run()  # first run loads the 54k rows into the cache
    assert not at.exception
    start = time.perf_counter()
    at.slider(key=f"range_{sid}").set_value((600.0, 3000.0)).run()
    elapsed = time.perf_counter() - start
    assert not at.exception and elapsed < HOUR_RERUN_MAX_S, elapsed
    assert {m.label: m.value for m in at.metric}["Duration"] == "40:00"


def test_markers_gaps_and_model_are_shown_with_the_session(db):
    sid = make_session(db)
    db.add_marker(sid, 1.0, "<script>alert(1)</script> question 3", t_wall=0.0)
    db.add_gap(sid, 2.0, 3.0, "paused")
    at = _page().run()
    assert not at.exception and not at.error
    table = at.dataframe[-1].value
    assert list(table["note"]) == ["<script>alert(1)</script> question 3"]  # a text cell
    assert any("Paused: 1 time(s)" in c.value for c in at.caption)
    assert any("Model: not recorded" in c.value for c in at.caption)
    timeline = at.get("plotly_chart")[0].proto.spec
    assert "question 3" in timeline and "&lt;script&gt;" in timeline  # escaped label
    assert "paused" in timeline


def test_notable_moments_are_listed_explained_and_drawn(db):
    from test_moments import session

    sid = db.create_session("webcam", {})
    rows = session({0: [(0, 10, "neutral"), (10, 20, "happy"), (20, 30, "neutral")]})
    rows = rows.assign(session_id=sid, t_wall=0.0)
    db.add_samples(rows.astype(object).where(rows.notna(), None).to_dict("records"))
    at = _page().run()
    assert not at.exception and not at.error
    assert "Notable moments" in [h.value for h in at.subheader]
    table = next(d.value for d in at.dataframe if "kind" in d.value.columns)
    assert table.iloc[0]["kind"] == "sustained" and "happy held" in table.iloc[0]["what"]
    assert "How moments are found" in at.expander[-1].children[0].value
    assert "moment: sustained" in at.get("plotly_chart")[0].proto.spec
    at.slider(key=f"range_{sid}").set_value((22.0, 29.9)).run()  # none in this range
    assert any("None in this range" in c.value for c in at.caption)
