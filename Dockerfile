# Multi-stage build of the Orders service's processes (worker, gateway, products, payments).
# One image; each compose service picks its process with `command`. The base image is pinned to an
# exact Node.js release (package.json asks for >=24); raise both stages together.

FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY dev/scripts/build.ts ./dev/scripts/build.ts
COPY src ./src
COPY sql ./sql
# Checks the types, then compiles src into dist/src and copies the migrations to dist/sql.
RUN npm run typecheck && npm run build
# The worker loads this instead of bundling its workflows with webpack at every start.
RUN node dist/src/scripts/bundle-workflows.js dist/workflow-bundle.js

FROM node:24.22.3-bookworm-slim AS runtime
ENV NODE_ENV=production
# Smaller V8 young generations, as npm start runs the processes (APP_NODE_OPTIONS in dev/infra/app-process.ts).
ENV NODE_OPTIONS=--max-semi-space-size=4
ENV TEMPORAL_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
# jemalloc as the C allocator, as npm start runs the processes (dev/infra/allocator.ts): the worker's
# native memory (the SDK's Rust core) fragments glibc's per-thread arenas.
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 && rm -rf /var/lib/apt/lists/*
ENV LD_PRELOAD=libjemalloc.so.2
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
# The `orders` CLI (`npm run orders -- …`, package.json "bin"): with no sources and no tsx here, it
# runs the compiled dist/src/scripts/orders.js.
COPY bin ./bin
USER node
CMD ["node", "dist/src/worker.js"]
