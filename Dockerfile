# Activity Report for Confluence: the production image.
#   docker build -t activity-report .
#   docker run -e DATABASE_URL=postgres://... -e AC_LOCAL_BASE_URL=https://... -p 3000:3000 activity-report
# docker-compose.yml runs it with PostgreSQL 16.

# Build stage: all dependencies, TypeScript compiled to dist/ (dist/src, dist/migrations).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build

# Run stage: production dependencies and the compiled app; no TypeScript, no tsx.
FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Read at run time from the app's root (the directory holding package.json).
COPY atlassian-connect.json ./
COPY views ./views
COPY public ./public
COPY docs/user-guide.md ./docs/user-guide.md
# Only used with ALLOW_EMBEDDED_DB_IN_PRODUCTION=1 (PGLITE_DATA_DIR, default ./.data): mount a
# volume there. With DATABASE_URL (the normal case) nothing in /app is written.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
# Slim images have no curl: Node's own fetch checks /healthz (which also checks the database).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself: it drains requests (SHUTDOWN_GRACE_S) and exits 0.
CMD ["node", "--enable-source-maps", "dist/src/server.js"]
