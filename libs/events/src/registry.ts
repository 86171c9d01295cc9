import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';

export { SchemaRegistry } from '@kafkajs/confluent-schema-registry';

export type Compatibility = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FULL' | 'NONE';

export function createRegistry(url: string): SchemaRegistry {
  return new SchemaRegistry({ host: url, clientId: 'hookpost' });
}

/**
 * Registers `schema` under `subject` with a fixed compatibility, through one path.
 * Apicurio answers NONE (not 404) for a subject without a rule, which makes the client's register()
 * throw "BACKWARD != NONE" when anything else created the subject. Setting the rule first, every
 * time, makes registration idempotent whoever came before.
 */
export async function registerSchema(
  registry: SchemaRegistry,
  url: string,
  subject: string,
  schema: Record<string, unknown>,
  compatibility: Compatibility = 'BACKWARD',
): Promise<number> {
  await setCompatibility(url, subject, compatibility);
  const { id } = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
    { subject, compatibility: compatibility as never },
  );
  return id;
}

/** PUT /config/{subject}: the one call the client library keeps private. */
async function setCompatibility(url: string, subject: string, compatibility: Compatibility): Promise<void> {
  const res = await fetch(`${url.replace(/\/$/, '')}/config/${encodeURIComponent(subject)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility }),
  });
  if (!res.ok)
    throw new Error(
      `schema registry refused compatibility ${compatibility} for ${subject}: HTTP ${res.status}`,
    );
}
