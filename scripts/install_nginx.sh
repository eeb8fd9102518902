#!/usr/bin/env bash
# Debian's nginx for the local topology and its test (only the binary is used: the
# package's own service is not started by the scripts).
set -euo pipefail
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq nginx >/dev/null
fi
