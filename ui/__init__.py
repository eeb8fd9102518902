"""Streamlit glue shared by the pages: cached resources and the settings sidebar."""
