/**
 * Composition root of the delivery service: signed POSTs of batches, retry tiers, dead letters and
 * suspension. Which of those this process runs comes from DELIVERY_ROLES (main, retry or tier names,
 * suspender), so one image scales each role separately.
 */
import { provisionTopics, topicCatalog } from '@hookpost/kafka';
import { ssrfAllowFrom } from '@hookpost/sender';
import { runService } from '@hookpost/service';
import { type DeliveryConfig, rolesOf, schema, tiersOf } from './config.ts';
import { startDelivery } from './service.ts';

/** Requests in flight finish within their timeout (at most 30 s), then their outcomes are produced. */
const SHUTDOWN_MS = 40_000;

await runService<DeliveryConfig>({
  name: 'delivery',
  schema,
  shutdownTimeoutMs: SHUTDOWN_MS,
  async start({ config, logger, kafka, admin, metrics, tracing }) {
    const d = config.delivery;
    const tiers = tiersOf(d.tiers);
    const catalog = topicCatalog({
      prefix: config.topics.prefix,
      partitions: config.topics.partitions,
      retryTiers: tiers.map((t) => t.name),
    });
    await provisionTopics(admin, catalog.all(), logger);
    const handle = await startDelivery({
      kafka,
      catalog,
      logger,
      registry: metrics,
      encryptionKeys: config.subscriptions.encryptionKeys,
      tracing,
      settings: {
        roles: rolesOf(d.roles, tiers),
        tiers,
        jitter: d.jitter,
        partitionWindow: d.partitionWindow,
        maxInFlightBytes: d.maxInFlightBytes,
        perEndpoint: d.perEndpoint,
        connectTimeoutMs: d.connectTimeoutMs,
        maxRetryAfterMs: d.maxRetryAfterMs,
        sessionTimeoutMs: d.sessionTimeoutMs,
        heartbeatIntervalMs: d.heartbeatIntervalMs,
        maxWaitTimeMs: d.maxWaitTimeMs,
        commitIntervalMs: d.commitIntervalMs,
        breakerFailures: d.breakerFailures,
        breakerCooldownMs: d.breakerCooldownMs,
        slowRequestMs: d.slowRequestMs,
        versionWaitMs: d.versionWaitMs,
        ssrf: ssrfAllowFrom(config.ssrf),
        groupPrefix: config.topics.prefix,
      },
    });
    return {
      ready: () => {
        const failing = handle.notReady();
        return { ok: failing.length === 0, failing };
      },
      stop: () => handle.stop(),
    };
  },
});
