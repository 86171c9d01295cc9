export { type SubscriptionsConfig, subscriptionsSchema } from './config.ts';
export { SubscriptionTable, startSubscriptionTable } from './table.ts';
export { writeThrough } from './write-through.ts';
export { SubscriptionWriter } from './writer.ts';
