"""The app's pages and page config, and keeping every page URL routed through them.

Streamlit 1.60 decides once per process (per run under AppTest) whether the app uses
the legacy ``pages/`` folder: it does when a ``pages/`` folder sits next to the
entrypoint, until some session calls ``st.navigation``. So the first visitor after a
(re)start who opens ``/analytics`` directly gets the page script run by Streamlit's
automatic discovery without ``app.py``: raw file names and an "app" entry in the
navigation, no wide layout, no icons. ``pages/`` stays the home of the page scripts
(the project's layout), so each page calls :func:`route_through_app` first: in such a
run it calls the app's own navigation, which switches discovery off for the whole
process (documented: "as soon as any session executes st.navigation, the app ignores
the pages/ directory"), and reruns; the rerun goes through ``app.py`` to the same page
(page ids derive from the URL path, which both routes share). It does so once per
browser session: Streamlit's AppTest turns discovery back on before every run, and
rerunning each time would drop the widget values a test has just set. This module is
the only one that reads Streamlit's internal ``PagesManager`` flag.
"""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.pages_manager import PagesManager

# (script, title, icon); the first is the default page. Page URLs come from the file
# names (/analytics …), the same as the discovery gives, so bookmarks keep working.
PAGES = (
    ("pages/live.py", "Live", ":material/videocam:"),
    ("pages/analytics.py", "Session analytics", ":material/monitoring:"),
    ("pages/compare.py", "Compare sessions", ":material/compare_arrows:"),
    ("pages/media.py", "Analyze media", ":material/photo_library:"),
    ("pages/model.py", "Model", ":material/neurology:"),
    ("pages/training.py", "Teach the model", ":material/school:"),
)


def app_navigation(menu: bool = True) -> StreamlitPage:
    """Page config and navigation of the app; returns the page to run. ``menu=False``
    hides the page menu (the sign-in screen)."""
    st.set_page_config(page_title="Emotion analytics", page_icon=":material/mood:", layout="wide")
    pages = [
        st.Page(script, title=title, icon=icon, default=i == 0)
        for i, (script, title, icon) in enumerate(PAGES)
    ]
    return st.navigation(pages, position="sidebar" if menu else "hidden")


ROUTED_KEY = "_routed_through_app"  # st.session_state: done once for this session


def route_through_app() -> None:
    """If this run came from ``pages/`` discovery, rerun it through ``app.py``."""
    if PagesManager.uses_pages_directory and not st.session_state.get(ROUTED_KEY):
        st.session_state[ROUTED_KEY] = True
        app_navigation()  # st.navigation switches discovery off, process-wide
        st.rerun()
