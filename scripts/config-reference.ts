/**
 * Writes docs/configuration.md from the convict schemas of every process (`npm run docs:config`).
 * Imports the config modules only, never a main.ts (that would start the service). The list lives
 * here, not in a lib, because libs must not know the services; test/docs/config-reference.test.ts
 * regenerates the text and fails when the committed file differs.
 */
import { writeFileSync } from 'node:fs';
import { renderConfigReference, type SchemaSource } from '@hookpost/config';
import { apiSchema } from '../services/api/src/config.ts';
import { schema as batcher } from '../services/batcher/src/config.ts';
import { schema as delivery } from '../services/delivery/src/config.ts';
import { schema as demo } from '../services/demo/src/config.ts';
import { schema as dlq } from '../services/dlq/src/config.ts';
import { schema as fanout } from '../services/fanout/src/config.ts';
import { schema as provision } from '../services/provision/src/config.ts';

export const COMMAND = 'npm run docs:config';
export const OUTPUT = new URL('../docs/configuration.md', import.meta.url);

export const SOURCES: readonly SchemaSource[] = [
  {
    name: 'fanout',
    summary:
      'Matches `email.events` to subscriptions and writes `webhooks.dispatch`, and the batches of one of webhooks at max_events 1 to `webhooks.batches` (services/fanout).',
    schema: fanout,
  },
  {
    name: 'batcher',
    summary: 'Groups dispatch records per webhook into `webhooks.batches` (services/batcher).',
    schema: batcher,
  },
  {
    name: 'delivery',
    summary: 'POSTs batches, runs the retry tiers and the suspender (services/delivery).',
    schema: delivery,
  },
  { name: 'api', summary: 'The management API (services/api).', schema: apiSchema },
  {
    name: 'provision',
    summary: 'One-shot creation of the topics and registration of the event schema (services/provision).',
    schema: provision,
  },
  { name: 'dlq', summary: 'The SRE dead-letter CLI (services/dlq).', schema: dlq },
  { name: 'demo', summary: 'The demo MTA producer (services/demo); not for production.', schema: demo },
];

export function configReference(): string {
  return renderConfigReference(SOURCES, COMMAND);
}

if (import.meta.main) {
  writeFileSync(OUTPUT, configReference());
  process.stdout.write(`wrote ${OUTPUT.pathname}\n`);
}
