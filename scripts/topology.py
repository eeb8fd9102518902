"""The deployment's topology on one machine without Docker: PostgreSQL, two app processes
and nginx in front, configured from the same ``deploy/nginx.conf.template`` as compose.

    scripts/start_topology.sh            # or: .venv/bin/python -m scripts.topology

The browser test (tests/e2e/test_topology_browser.py) uses :func:`run_nginx` and
:func:`render_site` from here, so the file compose runs is the file the tests run.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
STREAMLIT_CONFIG = ROOT / ".streamlit" / "config.toml"
STREAMLIT_DEFAULT_UPLOAD_MB = 200  # Streamlit's own default for server.maxUploadSize
_PLACEHOLDER = re.compile(r"\$\{(EMOTION_[A-Z_]+)\}")


@dataclass(frozen=True)
class ProxySettings:
    """What the template leaves open: the app processes, nginx's address, the upload cap
    and where the access log goes."""

    app_servers: Sequence[str]  # "host:port" of each app process
    listen: str  # nginx's "port" or "address:port"
    max_upload_mb: int
    access_log: str

    def placeholders(self) -> dict[str, str]:
        return {
            "EMOTION_APP_SERVERS": " ".join(f"server {s};" for s in self.app_servers),
            "EMOTION_PROXY_LISTEN": self.listen,
            "EMOTION_MAX_UPLOAD_MB": str(self.max_upload_mb),
            "EMOTION_PROXY_ACCESS_LOG": self.access_log,
        }


def streamlit_max_upload_mb(config_file: Path = STREAMLIT_CONFIG) -> int:
    """``server.maxUploadSize`` from the app's Streamlit config, so nginx never refuses an
    upload that Streamlit accepts (or the other way round)."""
    try:
        config = tomllib.loads(config_file.read_text())
    except FileNotFoundError:
        return STREAMLIT_DEFAULT_UPLOAD_MB
    return int(config.get("server", {}).get("maxUploadSize", STREAMLIT_DEFAULT_UPLOAD_MB))


def render_site(settings: ProxySettings, template: Path = TEMPLATE) -> str:
    """The template with its ``${EMOTION_*}`` placeholders filled, as the nginx image's
    envsubst step fills them; nginx's own ``$variables`` stay as they are."""
    values = settings.placeholders()
    text = template.read_text()
    missing = sorted(set(_PLACEHOLDER.findall(text)) - values.keys())
    if missing:
        raise ValueError(f"{template} has placeholders nobody fills: {missing}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def main_conf(run_dir: Path, site: Path) -> str:
    """A minimal nginx.conf around the site file, with every path inside ``run_dir``
    (the nginx image supplies its own; a local run must not touch /etc or /var)."""
    temp = "\n".join(f"    {name}_temp_path {run_dir / name};" for name in ("client_body", "proxy"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers read the run dir
    return (
        f"{user}worker_processes 1;\npid {run_dir / 'nginx.pid'};\n"
        f"error_log {run_dir / 'error.log'} warn;\n"
        "events { worker_connections 512; }\n"
        f"http {{\n{temp}\n    include {site};\n}}\n"
    )


def find_binary(name: str) -> str | None:
    """``name`` on PATH or in /usr/sbin, where Debian puts daemons (not on every PATH)."""
    for folder in (*os.environ.get("PATH", "").split(os.pathsep), "/usr/sbin"):
        path = Path(folder) / name
        if path.exists():
            return str(path)
    return None


def nginx_binary() -> str | None:
    return find_binary("nginx")


def turnserver_binary() -> str | None:
    """coturn's server (Debian package ``coturn``)."""
    return find_binary("turnserver")


def wait_http(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    """Until ``url`` answers 200; RuntimeError if ``proc`` ends or time runs out."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM (nginx: fast shutdown; Streamlit: clean exit), then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def run_nginx(run_dir: Path, settings: ProxySettings) -> Iterator[str]:
    """nginx in the foreground with the rendered site until the block ends; yields its
    URL once a request through it reaches an app process's health check."""
    nginx = nginx_binary()
    if nginx is None:
        raise FileNotFoundError("nginx is not installed (Debian: apt-get install nginx)")
    run_dir.mkdir(parents=True, exist_ok=True)
    site = run_dir / "site.conf"
    site.write_text(render_site(settings))
    conf = run_dir / "nginx.conf"
    conf.write_text(main_conf(run_dir, site))
    command = [nginx, "-p", str(run_dir), "-e", str(run_dir / "error.log"), "-c", str(conf)]
    subprocess.run([*command, "-t", "-q"], check=True)
    host_port = settings.listen if ":" in settings.listen else f"127.0.0.1:{settings.listen}"
    url = f"http://{host_port}"
    proc = subprocess.Popen([*command, "-g", "daemon off;"])
    try:
        wait_http(f"{url}/_stcore/health", proc)
        yield url
    finally:
        stop(proc)


@dataclass(frozen=True)
class TurnServer:
    """A coturn relay on loopback with one long-term user."""

    port: int
    username: str
    password: str

    def ice_servers(self) -> list[dict[str, object]]:
        """The ``EMOTION_ICE_SERVERS`` entry browsers get for it (UDP)."""
        url = f"turn:127.0.0.1:{self.port}?transport=udp"
        return [{"urls": [url], "username": self.username, "credential": self.password}]


@contextmanager
def run_turnserver(run_dir: Path, turn: TurnServer) -> Iterator[TurnServer]:
    """coturn (Debian's ``turnserver``) on 127.0.0.1 until the block ends, relaying to
    loopback peers (the app processes here); the compose file's coturn differs only in
    its addresses and in relaying to the app network alone. Output: run_dir/turn.log."""
    binary = turnserver_binary()
    if binary is None:
        raise FileNotFoundError("coturn is not installed (Debian: apt-get install coturn)")
    run_dir.mkdir(parents=True, exist_ok=True)
    command = [
        binary, "-n", "--log-file=stdout", "--simple-log", "--verbose",
        "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
        f"--listening-port={turn.port}", "--min-port=49160", "--max-port=49200",
        "--lt-cred-mech", f"--user={turn.username}:{turn.password}", "--realm=emotion",
        "--fingerprint", "--no-cli", "--no-tls", "--no-dtls", "--no-multicast-peers",
        "--allow-loopback-peers", f"--pidfile={run_dir / 'turnserver.pid'}",
        f"--userdb={run_dir / 'turndb'}",
    ]  # fmt: skip
    with (run_dir / "turn.log").open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_udp_listener(turn.port, proc)
            yield turn
        finally:
            stop(proc)


def _wait_udp_listener(port: int, proc: subprocess.Popen, seconds: float = 30) -> None:
    """Until something listens on UDP ``port`` (coturn prints no ready line)."""
    deadline = time.time() + seconds
    hex_port = f":{port:04X}"
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"turnserver exited with status {proc.returncode}")
        if any(
            hex_port in line.split()[1]
            for line in Path("/proc/net/udp").read_text().splitlines()[1:]
        ):
            return
        time.sleep(0.3)
    raise RuntimeError(f"turnserver did not listen on UDP {port} within {seconds:.0f} s")


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """``streamlit run app.py`` as the Dockerfile runs it, on ``address:port``."""
    return [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.headless", "true", "--server.address", address,
        "--server.port", str(port), "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip


@dataclass
class AppProcess:
    url: str
    proc: subprocess.Popen
    log: Path


@contextmanager
def run_app(
    port: int,
    env: Mapping[str, str],
    log: Path,
    seconds: float = 120,
    options: Sequence[str] = (),
) -> Iterator[AppProcess]:
    """One app process on 127.0.0.1:``port`` (``env`` added to this process's, more
    ``streamlit run`` ``options`` after the usual ones) until the block ends, its output
    in ``log``; RuntimeError if it is not healthy in ``seconds``."""
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*streamlit_command(port), *options], cwd=ROOT, env={**os.environ, **env},
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_http(f"{url}/_stcore/health", proc, seconds)
            yield AppProcess(url, proc, log)
        finally:
            stop(proc)


def postgres_url() -> str:
    """``EMOTION_DB_URL`` if set, else the local server scripts/start_postgres.sh starts."""
    if os.environ.get("EMOTION_DB_URL"):
        return os.environ["EMOTION_DB_URL"]
    script = ROOT / "scripts" / "start_postgres.sh"
    done = subprocess.run(["bash", str(script)], check=True, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app-ports", type=int, nargs="+", default=[8501, 8502])
    parser.add_argument("--proxy-port", type=int, default=8080)
    parser.add_argument("--run-dir", type=Path, default=ROOT / "data" / "topology")
    args = parser.parse_args(argv)
    db = postgres_url()
    args.run_dir.mkdir(parents=True, exist_ok=True)
    settings = ProxySettings(
        app_servers=[f"127.0.0.1:{p}" for p in args.app_ports],
        listen=f"127.0.0.1:{args.proxy_port}",
        max_upload_mb=streamlit_max_upload_mb(),
        access_log=str(args.run_dir / "access.log"),
    )
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop like Ctrl-C
    with ExitStack() as stack:
        apps = [
            stack.enter_context(
                run_app(p, {"EMOTION_DB_URL": db}, args.run_dir / f"app-{p}.log")
            ).url
            for p in args.app_ports
        ]
        proxy = stack.enter_context(run_nginx(args.run_dir / "nginx", settings))
        print(f"PostgreSQL: {db}\napp processes: {' '.join(apps)}\nnginx: {proxy}")
        print(f"logs in {args.run_dir}; Ctrl-C stops everything", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            print("stopping", flush=True)


if __name__ == "__main__":
    main()
