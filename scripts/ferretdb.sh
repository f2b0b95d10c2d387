#!/usr/bin/env bash
# Runs FerretDB (MongoDB wire protocol) on the SQLite backend, in the foreground.
# Usage: bash scripts/ferretdb.sh [PORT] [DATA_DIR]
#   PORT      TCP port on 127.0.0.1 (default 27017)
#   DATA_DIR  folder for the SQLite files, one <database>.sqlite per database, made if missing
#             (default: a new temp folder, left behind: pass a folder to reuse or remove it)
# Clients connect with mongodb://127.0.0.1:PORT/. Build the binary first: bash scripts/tools.sh.
# The script execs FerretDB, so `bash scripts/ferretdb.sh 27018 & pid=$!` gives FerretDB's own
# pid: SIGTERM (or SIGINT) stops it. Several can run at once on different ports: the debug
# HTTP listener (default 127.0.0.1:8088) is off, and no state file is written.
set -euo pipefail

port="${1:-27017}"
data="${2:-}"
bin="$(cd "$(dirname "$0")/.." && pwd)/.tools/bin/ferretdb"

[[ "$port" =~ ^[0-9]+$ ]] || { echo "ferretdb.sh: port must be a number, got '$port'" >&2; exit 2; }
[ -x "$bin" ] || { echo "ferretdb.sh: $bin is missing: run bash scripts/tools.sh" >&2; exit 1; }

if [ -z "$data" ]; then
  data="$(mktemp -d "${TMPDIR:-/tmp}/ferretdb.XXXXXX")"
fi
case "$data" in /*) ;; *) data="$PWD/$data" ;; esac
# --sqlite-url is a URL naming a directory, ending with "/". FerretDB hands the decoded path to
# SQLite as a URI again, so a path with a space, "#", "?" or "%" ends up elsewhere: refuse those.
if [[ ! "$data" =~ ^[A-Za-z0-9._/@+,=~:-]+$ ]]; then
  echo "ferretdb.sh: data folder '$data' has characters FerretDB's --sqlite-url can't take" >&2
  exit 2
fi
mkdir -p "$data"

# At warn, FerretDB logs each error reply in full (with the driver, at least "no such command:
# 'endSessions'" on every client close); FERRETDB_LOG_LEVEL=error quiets that.
# DO_NOT_TRACK=1 turns telemetry off as --telemetry=disable does; either one locks it off.
export DO_NOT_TRACK=1
exec "$bin" \
  --handler=sqlite \
  --sqlite-url="file:${data%/}/" \
  --listen-addr="127.0.0.1:$port" \
  --debug-addr=- \
  --state-dir=- \
  --telemetry=disable \
  --log-level="${FERRETDB_LOG_LEVEL:-warn}"
