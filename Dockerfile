# syntax=docker/dockerfile:1
# Multi-stage image for one Lovecraft node. The runtime stage transpiles the server's TypeScript
# to dist/ (scripts/build.mjs, esbuild, about a second) and runs plain `node` on it.

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# The web client: built with the dev dependencies (Vite, Preact), shipped as static files only.
FROM node:24-slim AS web
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY protocol ./protocol
COPY client ./client
COPY web ./web
RUN npm run web:build

FROM node:24-slim AS runtime
ENV NODE_ENV=production \
    PORT=2567 \
    DATA_DIR=/app/data \
    UV_THREADPOOL_SIZE=8
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY scripts/build.mjs ./scripts/build.mjs
COPY protocol ./protocol
COPY server ./server
COPY --from=web /app/web/dist ./web/dist
RUN node scripts/build.mjs && mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 2567
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||2567)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Exec form: node is PID 1 and receives SIGTERM itself, which starts the graceful drain.
STOPSIGNAL SIGTERM
CMD ["node", "dist/server/main.js"]
