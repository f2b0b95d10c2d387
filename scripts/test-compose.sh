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
# Tokens from the stack's own development issuer: an admin (creates the product) and the customer.
COMPOSE_ADMIN_TOKEN="$(docker compose exec -T issuer node dist/scripts/token.js --admin)"
COMPOSE_CUSTOMER_TOKEN="$(docker compose exec -T issuer node dist/scripts/token.js --customer cus_compose)"
export COMPOSE_ADMIN_TOKEN COMPOSE_CUSTOMER_TOKEN
npx vitest run --project compose
