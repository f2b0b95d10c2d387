# One image for every Orderflow service and the gateway; the compose file picks one with its command.
# It runs the compiled JavaScript (npm run build), as an unprivileged user, without tests or tsx.

# Production dependencies. better-sqlite3 (the embedded engine) is a native module: the toolchain
# is here in case no prebuilt binary matches.
FROM node:20.20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# The build: every dependency, the TypeScript compiler, dist/ out.
FROM deps AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY generated ./generated
COPY services ./services
COPY scripts ./scripts
COPY gateway ./gateway
RUN npm run build

FROM node:20.20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
# The embedded engine's folder, for a service run without MongoDB, and the development issuer's
# (compose mounts a volume there, which takes this ownership); owned by the runtime user.
RUN mkdir -p /app/data /auth && chown node:node /app/data /auth
USER node
# SIGTERM reaches node directly (no npm wrapper), so every service drains on `docker compose stop`.
ENTRYPOINT ["node", "dist/scripts/service.js"]
