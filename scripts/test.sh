#!/usr/bin/env bash
# Set up everything the tests need and run them all. Usage: scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
# Debian's Chromium for the browser test (Playwright's own browser download is not used).
if ! command -v chromium >/dev/null; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
# Debian's nginx and coturn for the deployment's browser tests (two app processes behind
# nginx; a stream relayed by TURN); required from here on: those tests fail, not skip,
# if an install did not work.
bash scripts/apt_install.sh nginx nginx || echo "warning: could not install nginx" >&2
bash scripts/apt_install.sh turnserver coturn || echo "warning: could not install coturn" >&2
export EMOTION_REQUIRE_NGINX=1 EMOTION_REQUIRE_COTURN=1
.venv/bin/ruff check .
# A real local PostgreSQL server for the store tests (they also run on SQLite).
if [ -z "${EMOTION_TEST_PG_URL:-}" ]; then
  if url=$(bash scripts/start_postgres.sh); then
    export EMOTION_TEST_PG_URL="$url" EMOTION_REQUIRE_PG=1
  else
    echo "warning: could not start PostgreSQL; its store tests will be skipped" >&2
  fi
fi
# In CI a missing PostgreSQL fails its tests instead of skipping them.
if [ -n "${CI:-}" ]; then export EMOTION_REQUIRE_PG=1; fi
# Run inside a loopback-only network namespace when possible: nothing can leave the machine
# and WebRTC uses 127.0.0.1 (see ../shared/docs/browser-testing.md).
if [ "$(id -u)" = 0 ] && unshare --net true 2>/dev/null; then
  exec unshare --net bash -c 'ip link set lo up && exec .venv/bin/python -m pytest "$@"' _ "$@"
fi
exec .venv/bin/python -m pytest "$@"
