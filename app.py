"""Entry point: ``streamlit run app.py``. Only routing and page config live here."""

from __future__ import annotations

# aiortc's SRTP library must be loaded before TensorFlow: the other way round, both
# resolve OpenSSL symbols to TensorFlow's copy and the process segfaults (docs/design.md).
import streamlit_webrtc  # noqa: F401  isort: skip

import logging

import streamlit as st


def main() -> None:
    st.set_page_config(page_title="Emotion analytics", page_icon=":material/mood:", layout="wide")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    pages = [
        st.Page("pages/live.py", title="Live", icon=":material/videocam:", default=True),
        st.Page("pages/analytics.py", title="Session analytics", icon=":material/monitoring:"),
        st.Page("pages/media.py", title="Analyze media", icon=":material/photo_library:"),
        st.Page("pages/model.py", title="Model", icon=":material/neurology:"),
    ]
    st.navigation(pages).run()


if __name__ == "__main__":
    main()
