#!/usr/bin/env bash
# The deployment's topology on this machine, without Docker: a local PostgreSQL
# (scripts/start_postgres.sh, unless EMOTION_DB_URL is set), two app processes
# (127.0.0.1:8501 and :8502) and nginx on 127.0.0.1:8080 with deploy/nginx.conf.template.
# Usage: scripts/start_topology.sh [--app-ports 8501 8502 8503] [--proxy-port 8080]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/apt_install.sh nginx nginx
exec .venv/bin/python -m scripts.topology "$@"
