#!/usr/bin/env bash
# Install (Debian's postgresql), start a local server and create the test database.
# Prints the SQLAlchemy URL to use; connects over the Unix socket, so it also works
# from inside the tests' loopback-only network namespace.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq postgresql >/dev/null
fi
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
pg_lsclusters -h | grep -q "^$ver main" || pg_createcluster "$ver" main >/dev/null
pg_ctlcluster "$ver" main start >/dev/null 2>&1 || true
for _ in $(seq 30); do pg_isready -q && break; sleep 1; done
me=$(id -un)
# A role named like the OS user, so peer authentication over the socket lets us in.
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='$me'\"" | grep -q 1 \
  || su postgres -c "createuser -s $me"
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='emotion_test'\"" | grep -q 1 \
  || su postgres -c "createdb -O $me emotion_test"
echo "postgresql+psycopg:///emotion_test?host=/var/run/postgresql"
