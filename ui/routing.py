"""Keep every page URL routed through ``app.py``'s navigation, even on a fresh server.

Streamlit 1.60 decides once per process, when the first browser session opens,
whether the app uses the legacy ``pages/`` folder: it does when a ``pages/`` folder
sits next to the entrypoint, until some session calls ``st.navigation``. So the
first visitor after a (re)start who opens ``/analytics`` directly gets the page
script run by Streamlit's automatic discovery, without ``app.py``: raw file names and
an "app" entry in the navigation, no wide layout, no icons. ``pages/`` stays the home
of the page scripts (the project's layout), so each page calls :func:`route_through_app`
first: in that one legacy run it switches discovery off for the whole process and
reruns, and the rerun goes through ``app.py`` to the same page (page ids are derived
from the URL path, which both routes share). This module is the only place that
touches Streamlit's internal ``PagesManager`` flag.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def route_through_app() -> None:
    """Rerun through ``app.py`` if this script run came from ``pages/`` discovery."""
    if PagesManager.uses_pages_directory:
        # What st.navigation itself does; set here because app.py has not run yet.
        PagesManager.uses_pages_directory = False
        st.rerun()
