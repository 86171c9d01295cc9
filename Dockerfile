# One image for every role: the role is the entry point it runs, chosen by SERVICE (or by the
# container's command, as deploy/k8s does). Node 24 runs the TypeScript sources directly (type
# stripping), so there is no build stage: the image holds the production dependencies and the sources.
#
# NOT exercised here: the development machines have no Docker engine. deploy/k8s and the tests under
# test/ops check what can be checked offline (manifests, env keys, probes, shutdown).
#
#   docker build -t hookpost:dev .
#   docker run --rm -e SERVICE=fanout -e SUBSCRIPTION_ENCRYPTION_KEYS=... hookpost:dev
#   docker run --rm hookpost:dev node services/dlq/src/main.ts --help
FROM node:24-slim

WORKDIR /app
ENV NODE_ENV=production \
    # KafkaJS (unmaintained) sets negative timeouts that Node 24 warns about on every rebalance.
    # --max-semi-space-size=2 and the MALLOC_ settings: libs/service/src/node-args.ts
    # (SERVICE_NODE_ARGS, SERVICE_ENV) says why.
    NODE_OPTIONS="--disable-warning=TimeoutNegativeWarning --max-semi-space-size=2" \
    MALLOC_MMAP_THRESHOLD_=65536 \
    MALLOC_TRIM_THRESHOLD_=1048576 \
    MALLOC_ARENA_MAX=2 \
    KAFKAJS_NO_PARTITIONER_WARNING=1 \
    SERVICE=api

# Manifests first so the dependency layer is cached across source-only changes. npm workspaces need
# every workspace's package.json to lay out node_modules (the @hookpost/* links).
COPY package.json package-lock.json ./
COPY libs/config/package.json libs/config/
COPY libs/contracts/package.json libs/contracts/
COPY libs/deadletters/package.json libs/deadletters/
COPY libs/events/package.json libs/events/
COPY libs/kafka/package.json libs/kafka/
COPY libs/loadgen/package.json libs/loadgen/
COPY libs/logger/package.json libs/logger/
COPY libs/metrics/package.json libs/metrics/
COPY libs/sender/package.json libs/sender/
COPY libs/service/package.json libs/service/
COPY libs/subscriptions/package.json libs/subscriptions/
COPY libs/tracing/package.json libs/tracing/
COPY services/api/package.json services/api/
COPY services/batcher/package.json services/batcher/
COPY services/delivery/package.json services/delivery/
COPY services/demo/package.json services/demo/
COPY services/dlq/package.json services/dlq/
COPY services/fanout/package.json services/fanout/
COPY services/provision/package.json services/provision/
# --ignore-scripts: no production dependency needs an install script (the dev-only `node` package,
# which brings Node 24 to older hosts, is the one that has one, and the base image already is Node 24).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error && npm cache clean --force

COPY schemas ./schemas
COPY libs ./libs
COPY services ./services

# The API's history store (API_DATA_DIR) must be writable by the non-root user.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node

# 9464: /metrics /healthz /readyz of every role (HTTP_PORT); 8080: the management API (API_PORT).
EXPOSE 9464 8080
# The case gives a service its own node flags after NODE_OPTIONS (SERVICE_NODE_ARGS_OF in
# libs/service/src/node-args.ts; the k8s test checks they match).
# exec: node replaces the shell as PID 1, so the kubelet's SIGTERM reaches runService's graceful
# shutdown directly (node installs its own SIGTERM/SIGINT handlers, so no init process is needed).
CMD ["sh", "-c", "case \"$SERVICE\" in delivery) set -- --max-semi-space-size=32 --heap-growing-percent=100 ;; batcher) set -- --max-semi-space-size=16 --heap-growing-percent=100 ;; *) set -- ;; esac; exec node \"$@\" services/${SERVICE}/src/main.ts"]
