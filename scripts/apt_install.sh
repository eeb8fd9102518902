#!/usr/bin/env bash
# Install a Debian package unless its command is already there (on PATH or in /usr/sbin).
# Only the binaries are used: the package's own service is never started by our scripts.
# Usage: scripts/apt_install.sh COMMAND PACKAGE   (e.g. nginx nginx, turnserver coturn)
set -euo pipefail
command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] && exit 0
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq "$2" >/dev/null
