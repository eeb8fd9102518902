"""Comparing sessions on known synthetic sessions, and the Compare sessions page."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from test_analytics import long_session, make_session
from test_moments import session

from emotion_core import analytics, compare
from emotion_core.store import SessionStore

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60


def _store_rows(store: SessionStore, rows: pd.DataFrame) -> int:
    sid = store.create_session("webcam", {})
    rows = rows.assign(session_id=sid, t_wall=0.0)
    store.add_samples(rows.astype(object).where(rows.notna(), None).to_dict("records"))
    return sid


def test_the_table_has_each_item_figures_as_on_its_own_page(store):
    a = make_session(store)
    b = _store_rows(store, session({0: [(0, 20, "sad")]}))
    loaded = [(store.get_session(i), store.load_samples(i)) for i in (a, b)]
    table = compare.compare_table(compare.make_items(loaded, per_face=False)).set_index(
        "session_id"
    )
    own = analytics.summarize(loaded[0][1])
    assert table.loc[a, "frames"] == own.frames and table.loc[a, "dominant"] == "happy"
    assert table.loc[a, "share_happy"] == pytest.approx(6 / 15)
    assert table.loc[b, "share_sad"] == pytest.approx(1.0) and table.loc[b, "dominant"] == "sad"
    assert table.loc[b, "mean_valence"] < 0 < table.loc[a, "mean_valence"]
    assert table.loc[b, "mean_confidence"] == pytest.approx(0.9)


def test_faces_can_be_compared_separately(store):
    sid = make_session(store)
    items = compare.make_items([(store.get_session(sid), store.load_samples(sid))], True)
    table = compare.compare_table(items)
    assert list(table["item"]) == [f"#{sid} face 0", f"#{sid} face 1"]
    assert list(table["dominant"]) == ["happy", "neutral"]


def test_a_minute_and_an_hour_share_one_readable_time_axis():
    minute = session({0: [(0, 60, "happy")]})
    hour = long_session()
    items = [compare.Item("minute", 1, None, minute), compare.Item("hour", 2, None, hour)]
    for relative, end in ((False, {"minute": 59.9, "hour": 3599.9}), (True, None)):
        lines = compare.compare_timelines(items, relative)
        for name, data in lines.groupby("item"):
            assert 1 < len(data) <= compare.MAX_POINTS
            if relative:
                assert data["t"].min() >= 0 and data["t"].max() <= 100
            else:
                bin_width = end[name] / compare.MAX_POINTS  # a bin holds its mean time
                assert data["t"].max() == pytest.approx(end[name], abs=bin_width)


def test_the_csv_parses_back_into_the_table(store):
    items = compare.make_items(
        [(store.get_session(i), store.load_samples(i)) for i in (make_session(store),)], True
    )
    table = compare.compare_table(items)
    parsed = pd.read_csv(
        io.BytesIO(compare.compare_csv(table)),
        dtype={"face_id": "Int64"},
        float_precision="round_trip",
    )
    pd.testing.assert_frame_equal(parsed, table, check_exact=True)


def _page() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).switch_page(
        "pages/compare.py"
    )


def test_compare_page_shows_table_csv_and_charts(db):
    make_session(db)
    _store_rows(db, session({0: [(0, 600, "sad")]}))  # ten minutes against six seconds
    at = _page().run()
    assert not at.exception and not at.error
    assert len(at.dataframe[0].value) == 2
    assert [b.label for b in at.get("download_button")] == ["Comparison CSV"]
    assert len(at.get("plotly_chart")) == 5  # shares, means, three timelines
    assert any("% of each session" in c.value for c in at.caption)
    at.segmented_control(key="compare_axis").set_value("% of each session").run()
    assert not at.exception
    at.toggle(key="compare_faces").set_value(True).run()
    assert len(at.dataframe[0].value) == 3  # two faces + one


def test_compare_page_asks_for_two_items(db):
    make_session(db)
    at = _page().run()
    at.multiselect(key="compare_sessions").set_value([at.multiselect[0].options[0]])
    at.run()
    assert not at.exception
    assert "Pick two or more" in at.info[0].value
