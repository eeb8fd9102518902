"""End to end: every page URL opened directly, on a freshly started server, in a fresh
browser context, shows the app's own navigation (titles, not file names) and layout.

A fresh server per page matters: Streamlit decides once per process, at the first
session, whether the legacy ``pages/`` discovery is in use (see ui/routing.py)."""

from __future__ import annotations

import pytest
from harness import BROWSER_FLAGS, CHROMIUM, require_chromium

pytestmark = pytest.mark.e2e

NAV_TITLES = [
    "Live", "Session analytics", "Compare sessions", "Analyze media", "Model", "Teach the model"
]  # fmt: skip
PAGES = {  # URL path -> the page's own title
    "": "Live emotion analysis",
    "analytics": "Session analytics",
    "compare": "Compare sessions",
    "media": "Analyze photos and videos",
    "model": "Model",
    "training": "Teach the model",
}


@pytest.mark.parametrize("path", list(PAGES))
def test_a_page_url_opened_first_looks_as_through_the_app(app_server, path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    url, _ = app_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(f"{url}/{path}")
        page.get_by_role("heading", name=PAGES[path]).first.wait_for(timeout=90_000)
        nav = page.locator('[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]')
        nav.first.wait_for(timeout=30_000)
        titles = [t.strip() for t in nav.all_inner_texts()]
        # Icons are Material Symbols ligatures: their names come first in the text.
        assert [t.split("\n")[-1] for t in titles] == NAV_TITLES, titles
        assert all("\n" in t for t in titles), f"icons missing: {titles}"
        block = page.locator('[data-testid="stMainBlockContainer"]')
        assert block.bounding_box()["width"] > 1000  # layout="wide", not the 736 px column
        assert page.url.rstrip("/") == f"{url}/{path}".rstrip("/")
        browser.close()
