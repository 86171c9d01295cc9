/**
 * The delivery service's door for in-process use (integration tests, benchmarks); production runs
 * `src/main.ts`.
 */
export { type DeliveryConfig, type RoleSet, rolesOf, schema, tiersOf } from './config.ts';
export { DEFAULT_TIERS, DELIVERY_DEFAULTS, groupIds } from './definitions.ts';
export type { Send } from './deliverer.ts';
export { suspend } from './domain/records.ts';
export { decide, MAIN_TIER, parseTiers, type Tier } from './domain/retry-policy.ts';
export { DeliveryMetrics } from './metrics.ts';
export {
  type DeliveryDeps,
  type DeliveryHandle,
  type DeliverySettings,
  DUE_SKEW_MS,
  dueAtOf,
  dueAtWithin,
  startDelivery,
} from './service.ts';
