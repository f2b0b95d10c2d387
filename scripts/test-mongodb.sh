#!/usr/bin/env bash
# `npm run test:mongodb [-- vitest args]`: the whole test suite on a MongoDB server — the one at
# MONGODB_URI, or else a FerretDB (MongoDB wire protocol on SQLite) started here on a free port
# with a temporary data folder, built first by scripts/tools.sh when missing. NATS: the current
# nats-server from .tools/bin when built (NATS_SERVER_BIN overrides), else nats-server on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

ferretdb_pid=""
ferretdb_data=""
cleanup() {
  if [ -n "$ferretdb_pid" ]; then kill "$ferretdb_pid" 2>/dev/null || true; wait "$ferretdb_pid" 2>/dev/null || true; fi
  if [ -n "$ferretdb_data" ]; then rm -rf "$ferretdb_data"; fi
}
trap cleanup EXIT

if [ -z "${MONGODB_URI:-}" ]; then
  [ -x .tools/bin/ferretdb ] || bash scripts/tools.sh
  port="$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
  ferretdb_data="$(mktemp -d "${TMPDIR:-/tmp}/orderflow-ferretdb.XXXXXX")"
  FERRETDB_LOG_LEVEL="${FERRETDB_LOG_LEVEL:-error}" bash scripts/ferretdb.sh "$port" "$ferretdb_data" >"$ferretdb_data.log" 2>&1 &
  ferretdb_pid=$!
  for _ in $(seq 1 100); do
    if node -e "require('net').connect($port,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))" 2>/dev/null; then break; fi
    sleep 0.1
  done
  # One connection per process: FerretDB applies an update as read, modify, write back without
  # isolation, so two operations of one process on one document at once could lose an update
  # (MongoDB applies each atomically). On one connection a process's operations take turns.
  export MONGODB_URI="mongodb://127.0.0.1:$port/?maxPoolSize=1"
  # One test file at a time: with two, that one server fell behind enough for saga steps to time
  # out (orders/restart, payments/replicas). VITEST_MAX_WORKERS set by the caller wins.
  export VITEST_MAX_WORKERS="${VITEST_MAX_WORKERS:-1}"
  echo "==> FerretDB $(.tools/bin/ferretdb --version 2>&1 | sed -n 's/^version: //p') on $MONGODB_URI (data in $ferretdb_data)"
else
  echo "==> MongoDB at $MONGODB_URI"
fi

if [ -z "${NATS_SERVER_BIN:-}" ] && [ -x .tools/bin/nats-server ]; then export NATS_SERVER_BIN="$PWD/.tools/bin/nats-server"; fi
echo "==> $("${NATS_SERVER_BIN:-nats-server}" --version)"
npx vitest run --project unit --project int --project e2e "$@"
