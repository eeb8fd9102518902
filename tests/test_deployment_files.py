"""The deployment files agree with the code: compose.yaml parses, what it mounts from
the repository exists, and the commands it runs exist with the options it passes.
(Docker is not on the test machines; tests/e2e/test_topology_browser.py runs the same
nginx template with real processes.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]


def test_the_web_services_run_by_default_and_the_batch_ones_only_on_request():
    assert {"app", "nginx", "db", "coturn"} <= {
        n for n, s in SERVICES.items() if "profiles" not in s
    }
    batch = {n for n, s in SERVICES.items() if s.get("profiles") == ["batch"]}
    assert batch == {"dask-scheduler", "dask-worker", "analyze"}
    images = {SERVICES[n]["image"] for n in (*batch, "app")}
    assert images == {SERVICES["app"]["image"]}  # one image: same code and model everywhere


def test_files_mounted_from_the_repository_exist():
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source


def test_the_batch_commands_exist_with_the_options_compose_passes():
    entry = SERVICES["analyze"]["entrypoint"]
    assert entry[:3] == ["python", "-m", "emotion_core.analyze"]
    help_text = subprocess.run(
        [sys.executable, "-m", "emotion_core.analyze", "--help"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert all(option in help_text for option in entry[3:] if option.startswith("--"))
    for name in ("dask-scheduler", "dask-worker"):
        command = SERVICES[name]["command"]
        dask = Path(sys.executable).with_name("dask")
        help_text = subprocess.run(
            [str(dask), command[1], "--help"], capture_output=True, text=True, check=True
        ).stdout
        assert all(option in help_text for option in command if option.startswith("--"))


def test_compose_upload_limit_defaults_to_streamlits_own():
    from scripts.topology import streamlit_max_upload_mb

    default = COMPOSE["x-upload-mb"].rsplit(":-", 1)[1].rstrip("}")
    assert int(default) == streamlit_max_upload_mb()
    env_example = (ROOT / "deploy" / "env.example").read_text()
    assert f"MAX_UPLOAD_MB={streamlit_max_upload_mb()}" in env_example
