"""What every browser test shares: the app served as a real process, Debian's Chromium with
a fake webcam, and the webcam file itself (see ../shared/docs/browser-testing.md)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from scripts.topology import AppProcess, nginx_binary, turnserver_binary
from scripts.topology import run_app as run_app_process

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SITE = Path(__file__).parent / "site"  # test-only sitecustomize: aioice on 127.0.0.1
WEBRTC_IFRAME = 'iframe[title="streamlit_webrtc.component.webrtc_streamer"]'
BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: scripts/test.sh installs it (apt-get install chromium)")


def camera_flags(cam: Path) -> list[str]:
    """Chromium flags for a fake webcam playing ``cam`` (a .y4m file) on loopback WebRTC."""
    return [
        *BROWSER_FLAGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={cam}",
        "--allow-loopback-in-peer-connection",
    ]


def camera_frame(face_bgr: np.ndarray) -> np.ndarray:
    """``face_bgr`` scaled to 480x480 in the middle of a black 640x480 webcam picture."""
    canvas = np.zeros((480, 640, 3), np.uint8)
    canvas[:, 80:560] = cv2.resize(face_bgr, (480, 480))
    return canvas


def heads_frame(portrait_bgr: np.ndarray, count: int) -> np.ndarray:
    """``count`` (1 or 2) copies of a portrait's head (its upper middle quarter, where the
    face is), 320x320 each, side by side in the middle of a black 640x480 picture: two
    cameras whose rows can be told apart by their face count."""
    h, w = portrait_bgr.shape[:2]
    head = cv2.resize(portrait_bgr[: h // 2, w // 4 : w - w // 4], (320, 320))
    canvas = np.zeros((480, 640, 3), np.uint8)
    left = (640 - 320 * count) // 2
    for i in range(count):
        canvas[80:400, left + 320 * i : left + 320 * (i + 1)] = head
    return canvas


def write_y4m(
    path: Path,
    face_bgr: np.ndarray,
    frames: int = 60,
    layout: Callable[[np.ndarray], np.ndarray] = camera_frame,
) -> None:
    """A 30 fps 640x480 fake-webcam file of ``face_bgr`` placed by ``layout``, moving a
    little (Chromium loops it)."""
    canvas = layout(face_bgr)
    with path.open("wb") as fh:
        fh.write(b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n")
        for i in range(frames):
            shifted = np.roll(canvas, i % 10, axis=1)
            fh.write(b"FRAME\n" + cv2.cvtColor(shifted, cv2.COLOR_BGR2YUV_I420).tobytes())


@contextmanager
def run_app(
    workdir: Path,
    env: Mapping[str, str],
    port: int | None = None,
    name: str = "server",
    secrets: Path | None = None,
    options: Sequence[str] = (),
) -> Iterator[AppProcess]:
    """The app as scripts/topology.py runs it, on 127.0.0.1 with ``env`` added and aioice
    offering loopback (``SITE``), until the block ends; its output in ``workdir/name.log``.

    ``secrets``: the only secrets file the app reads (``--secrets.files``), so a test
    can configure sign-in without touching the repository's ``.streamlit/``;
    ``options``: more Streamlit command-line options (``--server.maxUploadSize 1``)."""
    log = workdir / f"{name}.log"
    full_env = {"PYTHONPATH": f"{SITE}:{ROOT}", **env}
    extra = [*(["--secrets.files", str(secrets)] if secrets else []), *options]
    with ExitStack() as stack:
        try:
            app = stack.enter_context(
                run_app_process(port or free_port(), full_env, log, options=extra)
            )
        except RuntimeError as exc:
            pytest.fail(f"the app did not start ({exc}): " + log.read_text()[-2000:])
        yield app


def require_nginx() -> None:
    """nginx for the topology test (see :func:`require_installed`)."""
    require_installed(nginx_binary(), "nginx", "nginx", "EMOTION_REQUIRE_NGINX")


def require_coturn() -> None:
    """coturn's turnserver for the TURN test (see :func:`require_installed`)."""
    require_installed(turnserver_binary(), "turnserver", "coturn", "EMOTION_REQUIRE_COTURN")


def require_installed(found: str | None, command: str, package: str, required_by: str) -> None:
    """A missing server binary fails the test when ``required_by`` is set (scripts/test.sh
    installs the package and sets it, so CI never skips silently), else skips it."""
    if found:
        return
    message = f"{command} is missing: scripts/apt_install.sh {command} {package} installs it"
    if os.environ.get(required_by):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class OidcProvider:
    """oidc-provider-mock: a real OpenID Connect provider whose sign-in page lets a test
    type any subject (it becomes the user's ``sub`` and ``email``)."""

    url: str
    proc: subprocess.Popen

    def auth_secrets(self, path: Path, **settings: str | int) -> Path:
        """Write a secrets.toml that signs users in with this provider (the redirect URI
        takes the app's port from Streamlit's ``{port}``), plus top-level ``settings``
        such as ``EMOTION_ADMINS``; returns ``path``."""
        top = "".join(f"{k} = {_toml(v)}\n" for k, v in settings.items())
        path.write_text(
            f"{top}[auth]\n"
            'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            f'cookie_secret = "{os.urandom(16).hex()}"\n'
            'client_id = "emotion-app-test"\nclient_secret = "not-checked-by-the-mock"\n'
            f'server_metadata_url = "{self.url}/.well-known/openid-configuration"\n'
        )
        return path


def _toml(value: str | int) -> str:
    return str(value) if isinstance(value, int) else '"' + value.replace('"', '\\"') + '"'


@contextmanager
def run_oidc_provider(workdir: Path) -> Iterator[OidcProvider]:
    """oidc-provider-mock (requirements-dev.txt) on a free 127.0.0.1 port until the block
    ends; its log is ``workdir/oidc.log``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "oidc.log"
    command = [
        sys.executable,
        "-m",
        "oidc_provider_mock",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{url}/.well-known/openid-configuration", timeout=1)
                    break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        pytest.fail("oidc-provider-mock did not start: " + log.read_text()[-2000:])
                    time.sleep(0.3)
            yield OidcProvider(url, proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_for_rows(store, rows: int = 30, seconds: float = 180):
    """The newest session once it holds ``rows`` analysed frames (polling the store the
    app writes to), or None after ``seconds``: generous, as CI cores are slow and shared."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        sessions = store.list_sessions()
        if sessions and store.count_samples(sessions[0].id) >= rows:
            return sessions[0]
        time.sleep(1)
    return None
