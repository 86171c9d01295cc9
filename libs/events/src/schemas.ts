import { readFileSync } from 'node:fs';

/** Avro schemas live in the top-level schemas/ folder so the provisioning Job can register them too. */
const SCHEMA_DIR = new URL('../../../schemas/', import.meta.url);

function loadSchema(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(file, SCHEMA_DIR), 'utf8')) as Record<string, unknown>;
}

/** The current email event schema, the reader schema of every consumer in this repo. */
export const emailEventSchema = (): Record<string, unknown> => loadSchema('email-event.avsc');

/** Confluent's TopicNameStrategy: the value schema of topic T is registered under `T-value`. */
export const valueSubject = (topic: string): string => `${topic}-value`;
