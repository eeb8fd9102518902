"""Emotion analytics library: detection, classification, tracking, recording, analytics.

Plain Python, no Streamlit: the pages in ``pages/`` only compose what lives here.
"""
