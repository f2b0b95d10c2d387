#!/usr/bin/env bash
# Builds the Go tools the tests and CI use into .tools/bin/ (ignored by git):
#   ferretdb     FerretDB (MongoDB wire protocol on SQLite), see scripts/ferretdb.sh
#   nats-server  NATS server with JetStream
#   grpcurl      gRPC command-line client
# Each is built from the Go module proxy with the local Go toolchain, one at a time.
# A binary whose .tools/bin/<tool>.version matches is reused, so a rerun takes a second.
# Usage: bash scripts/tools.sh            (FORCE=1 rebuilds everything)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

FERRETDB_VERSION=v1.24.2
NATS_SERVER_VERSION=v2.15.3
GRPCURL_VERSION=v1.9.4

bin="$root/.tools/bin"
src="$root/.tools/src"
mkdir -p "$bin" "$src"

if ! command -v go >/dev/null 2>&1; then
  export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || { echo "tools.sh: no Go toolchain (looked on PATH and in /usr/local/go/bin)" >&2; exit 1; }

# Use the Go installed here; never fetch another toolchain through the proxy.
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOFLAGS="-trimpath -buildvcs=false"
export CGO_ENABLED=0

step() { printf '==> %s\n' "$*"; }

# up_to_date NAME VERSION: this script built the binary at that version, and it runs and says so.
up_to_date() {
  [ "${FORCE:-0}" != 1 ] && [ -x "$bin/$1" ] && [ -f "$bin/$1.version" ] &&
    [ "$(cat "$bin/$1.version")" = "$2" ] &&
    [[ "$("$bin/$1" --version 2>&1)" == *"$2"* ]]
}

# record NAME VERSION SECONDS_START
record() {
  printf '%s\n' "$2" >"$bin/$1.version"
  step "built $1 $2 in $((SECONDS - $3))s"
}

build_ferretdb() {
  local v=$FERRETDB_VERSION
  if up_to_date ferretdb "$v"; then step "ferretdb $v is built"; return; fi
  step "building ferretdb $v (first run takes a few minutes)"
  local t0=$SECONDS dir="$src/ferretdb-$v" modsrc
  # Neither `go install github.com/FerretDB/FerretDB/cmd/ferretdb@$v` nor `go build` of that
  # package from a tools module of our own gives a binary that starts: FerretDB's main module is
  # then FerretDB itself, and it panics at start-up without build/version/version.txt, which
  # upstream makes from git (`task gen-version`) and which the module zip leaves out. So build
  # a copy of the module source with that file added. Its own go.mod and go.sum are used as
  # they are (any replace directives included), so the dependencies are upstream's.
  modsrc="$(go mod download -json "github.com/FerretDB/FerretDB@$v" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$modsrc" ] || { echo "tools.sh: FerretDB $v source not found in the module cache" >&2; exit 1; }
  if [ -d "$dir" ]; then chmod -R u+w "$dir" && rm -rf "$dir"; fi
  mkdir -p "$dir"
  cp -R "$modsrc/." "$dir"
  chmod -R u+w "$dir"
  printf '%s\n' "$v" >"$dir/build/version/version.txt"
  # The SQLite backend (pure Go, modernc.org/sqlite) is built in by default; only the tag
  # ferretdb_no_sqlite leaves it out. No tags: ferretdb_debug would make a debug build.
  (cd "$dir" && go build -o "$bin/ferretdb" ./cmd/ferretdb)
  record ferretdb "$v" "$t0"
}

build_nats_server() {
  local v=$NATS_SERVER_VERSION
  if up_to_date nats-server "$v"; then step "nats-server $v is built"; return; fi
  step "building nats-server $v (first run takes a minute or two)"
  local t0=$SECONDS
  GOBIN="$bin" go install "github.com/nats-io/nats-server/v2@$v"
  record nats-server "$v" "$t0"
}

build_grpcurl() {
  local v=$GRPCURL_VERSION
  if up_to_date grpcurl "$v"; then step "grpcurl $v is built"; return; fi
  step "building grpcurl $v (first run takes a minute or two)"
  local t0=$SECONDS
  GOBIN="$bin" go install -ldflags "-X main.version=$v" "github.com/fullstorydev/grpcurl/cmd/grpcurl@$v"
  record grpcurl "$v" "$t0"
}

step "Go tools into .tools/bin ($(go version | cut -d' ' -f3))"
build_ferretdb
build_nats_server
build_grpcurl
