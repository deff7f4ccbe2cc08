#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL cluster: initdb into a temporary folder, a server on a
# private Unix socket (no TCP port), and the KAVACH_TEST_POSTGRES_* variables the tests read. The
# cluster is stopped and deleted when the command ends, whatever its outcome.
# Usage: scripts/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x "$pg_bin/initdb" ]] || { echo "with-postgres: PostgreSQL server binaries not found; run scripts/install-deps.sh" >&2; exit 1; }

root=$(mktemp -d /tmp/kavach-pg-XXXXXX)
chmod 755 "$root"
run_as=()
db_user=$(id -un)
if ((EUID == 0)); then
  # initdb refuses to run as root; the Debian package's postgres user runs the throw-away cluster.
  run_as=(runuser -u postgres --)
  db_user=postgres
  chown postgres "$root"
fi

cleanup() {
  "${run_as[@]}" "$pg_bin/pg_ctl" -D "$root/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$root"
}
trap cleanup EXIT

"${run_as[@]}" "$pg_bin/initdb" -D "$root/data" -U "$db_user" -A trust --no-sync >"$root/initdb.log" 2>&1 \
  || { cat "$root/initdb.log" >&2; exit 1; }
port=$((20000 + RANDOM % 20000))
"${run_as[@]}" "$pg_bin/pg_ctl" -D "$root/data" -l "$root/server.log" -w \
  -o "-k $root -p $port -c listen_addresses='' -c max_connections=300 -c fsync=on" start >/dev/null \
  || { cat "$root/server.log" >&2; exit 1; }

export KAVACH_TEST_POSTGRES_HOST="$root"
export KAVACH_TEST_POSTGRES_PORT="$port"
export KAVACH_TEST_POSTGRES_USER="$db_user"
export KAVACH_REQUIRE_POSTGRES=1
echo "with-postgres: throw-away cluster on socket $root port $port"
"$@"
