"""Entry point: ``streamlit run app.py``. Only routing and page config live here."""

from __future__ import annotations

# aiortc's SRTP library must be loaded before TensorFlow: the other way round, both
# resolve OpenSSL symbols to TensorFlow's copy and the process segfaults (docs/design.md).
import streamlit_webrtc  # noqa: F401  isort: skip

import logging

from ui.routing import app_navigation  # the page list, shared with direct links
from ui.signin import account_sidebar, signed_out, viewer


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    page = app_navigation(menu=not signed_out())
    account_sidebar(viewer())  # the sign-in screen stops the run here when needed
    page.run()


if __name__ == "__main__":
    main()
