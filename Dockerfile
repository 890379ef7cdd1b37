# One image for the three services, the demo upstream and the one-shot scripts (setup, seed);
# docker-compose.yml picks the entry point per service. Plain Dockerfile syntax only (no
# BuildKit features), so Docker 20.10's legacy builder builds it too.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# patch-package applies patches/ at install (kafkajs fixes: read_committed filtering, an idle
# 1 ms timer per connection, and record headers decoded in linear time; see docs/metering.md).
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
COPY scripts ./scripts
# The demo single-page app, bundled by scripts/build-demo-app.js (the gateway serves it).
COPY demo ./demo
# Production dependencies only; type declarations, source maps and typeorm's browser build are
# never loaded at run time (licence files stay).
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/typeorm/browser \
  && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
    -o -name '*.map' \) -delete

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./package.json
COPY config ./config
USER node
# Overridden per service: dist/apps/<gateway|entitlement|metering>/src/main.js. The services
# exit 0 within 5 s of SIGTERM (run() in libs/http); compose runs them under an init (tini).
CMD ["node", "dist/apps/gateway/src/main.js"]
