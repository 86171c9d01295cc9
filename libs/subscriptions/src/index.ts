export { type SubscriptionsConfig, subscriptionsSchema } from './config.ts';
export {
  type ChangeListener,
  SubscriptionTable,
  type SubscriptionTableOptions,
  startSubscriptionTable,
} from './table.ts';
export { writeThrough } from './write-through.ts';
export { SubscriptionWriter, type WriteResult } from './writer.ts';
