# haapi-edge on Deno, self-hosted: one process serving HTTP on $PORT, its Deno KV in one SQLite file on
# the /data volume. One container per volume: two processes on one KV file contend for its write lock
# (docs/deno.md, "One process per KV file"). Several instances share a KV through denokv instead.
#
#   docker build -t haapi-edge-deno .
#   docker run -p 8787:8787 -v haapi-edge-kv:/data \
#     -e CONFIG="$(cat my-config.json)" -e SERVER_SECRET -e SIGNING_KEYS haapi-edge-deno
#
# Not built on the machine this was written on (no Docker daemon there): see docs/deno.md.

ARG DENO_VERSION=2.9.6

# npm's lockfile decides the dependencies, as for the Workers build. Deno itself comes from the base
# image below, so only production dependencies, and no install scripts (none of them needs one).
FROM node:22-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts

FROM denoland/deno:${DENO_VERSION}
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json deno.json ./
COPY src ./src
RUN mkdir -p /data && chown deno:deno /data
USER deno
# Resolve the module graph now (deno.json: node_modules, sloppy imports): a missing file or package
# fails the build rather than the first start. (It does not evaluate modules: a JSON import without
# `with { type: "json" }` still fails only at the start.)
RUN deno cache --config deno.json src/deno.ts

ENV HOST=0.0.0.0 \
    PORT=8787 \
    DENO_KV_PATH=/data/haapi-edge.sqlite3 \
    DENO_NO_UPDATE_CHECK=1
VOLUME /data
EXPOSE 8787

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["deno", "eval", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('PORT')}/.well-known/oauth-authorization-server`); Deno.exit(r.ok ? 0 : 1)"]

# As `npm run start:deno`, with writes confined to the volume.
CMD ["run", "--config", "deno.json", "--allow-net", "--allow-env", "--allow-read", "--allow-write=/data", "src/deno.ts"]
