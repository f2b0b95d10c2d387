#!/usr/bin/env bash
# `npm run test:compose`: brings the docker compose stack up (built from this checkout), runs
# tests/compose/*.compose.test.ts against its gateway, and takes it down again. Needs a Docker
# engine; NATS passwords are generated into .env on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
docker info >/dev/null 2>&1 || { echo "test:compose needs a running Docker engine (docker info failed)" >&2; exit 1; }
[ -f .env ] || npm run -s nats:config -- --env > .env
trap 'docker compose down --volumes --remove-orphans' EXIT
docker compose up --build --wait
npx vitest run --project compose
