# One image for every Orderflow service and the gateway; the compose file picks one with its command.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY generated ./generated
COPY services ./services
COPY scripts ./scripts
COPY gateway ./gateway
# Services run TypeScript through tsx's loader; SIGTERM reaches node directly (no npm wrapper).
ENTRYPOINT ["node", "--import", "tsx", "scripts/service.ts"]
