"""The deployment's nginx configuration (deploy/nginx.conf.template) run by real nginx
in front of two small HTTP servers that answer with their own name: who gets which
request, without starting two Streamlit processes (the browser test does that)."""

from __future__ import annotations

import http.client
import http.cookiejar
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from harness import free_port, require_nginx

from scripts.topology import ProxySettings, render_site, run_nginx, streamlit_max_upload_mb

CLIENTS = 24  # browsers, all from 127.0.0.1 as if behind one NAT


class NamedServer(BaseHTTPRequestHandler):
    """Answers every GET with the port it listens on."""

    def do_GET(self) -> None:
        body = str(self.server.server_port).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def proxy(tmp_path) -> Iterator[str]:
    require_nginx()
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), NamedServer) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = ProxySettings(
        app_servers=[f"127.0.0.1:{s.server_port}" for s in servers],
        listen=f"127.0.0.1:{free_port()}",
        max_upload_mb=streamlit_max_upload_mb(),
        access_log=str(tmp_path / "access.log"),
    )
    try:
        with run_nginx(tmp_path / "nginx", settings) as url:
            yield url
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def browser() -> urllib.request.OpenerDirector:
    """A client that keeps cookies, like a browser."""
    cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    return urllib.request.build_opener(cookies)


def test_each_browser_sticks_to_one_process_and_browsers_spread(proxy):
    landed = Counter()
    for _ in range(CLIENTS):
        client = browser()
        client.open(f"{proxy}/").read()  # the first response hands out the routing cookie
        answers = {client.open(f"{proxy}/_stcore/health").read() for _ in range(5)}
        assert len(answers) == 1, f"one browser was sent to {answers}"
        landed[answers.pop()] += 1
    # Same address for all: hashing the address would put every one on one process.
    assert len(landed) == 2 and min(landed.values()) >= 3, landed


def test_a_browser_without_cookies_sticks_by_its_address(proxy):
    answers = {urllib.request.urlopen(f"{proxy}/").read() for _ in range(10)}
    assert len(answers) == 1


def test_upload_over_streamlits_limit_is_refused_by_nginx(proxy):
    conn = http.client.HTTPConnection(proxy.removeprefix("http://"), timeout=30)
    conn.putrequest("PUT", "/_stcore/upload_file/session/file")
    conn.putheader("Content-Length", str((streamlit_max_upload_mb() + 1) * 1024 * 1024))
    conn.endheaders()  # no body: nginx answers from the header alone
    assert conn.getresponse().status == 413
    conn.close()


def test_template_placeholders_are_all_filled():
    site = render_site(ProxySettings(["app:8501"], "80", 200, "/dev/stdout"))
    config_lines = [line for line in site.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in config_lines if "${" in line]
    assert "server app:8501;" in site and "client_max_body_size 200m;" in site
