# The app (streamlit run app.py) as an image. Everything it needs is in the image: the
# pinned Python packages (MediaPipe's BlazeFace models ship inside its wheel) and the
# model in assets/; nothing is downloaded when a container starts.
#   docker build -t emotion-analytics .      (compose.yaml builds and runs it)
FROM python:3.11-slim-bookworm

# Shared libraries the wheels link against and the slim image lacks (found with ldd on
# mediapipe, opencv-contrib-python, av and ai-edge-litert): OpenGL/GLX, GLib, X11.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libgl1 libglib2.0-0 libsm6 libice6 libx11-6 libxext6 \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_SERVER_FILE_WATCHER_TYPE=none

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

# A user without a login or a home of interest: the app never needs root. data/ holds
# the SQLite default, saved training faces, fine-tune jobs and versions (a volume).
RUN useradd --system --uid 10001 --create-home --home-dir /home/emotion emotion \
    && mkdir -p /app/data && chown emotion /app/data
COPY --chown=root:root . .
USER emotion

EXPOSE 8501
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]
