"""The HTTP API: a FastAPI service beside the web app, on the same library and store.

The only package that imports a web framework (FastAPI, Starlette); everything it does
is composed from ``emotion_core``. Start it with ``python -m api`` (README "HTTP API").
"""
