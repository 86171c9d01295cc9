export { type SubscriptionsConfig, subscriptionsSchema } from './config.ts';
export { SubscriptionTable, servingFromTable, startSubscriptionTable } from './table.ts';
export { writeThrough } from './write-through.ts';
export { SubscriptionWriter } from './writer.ts';
