/**
 * Decode throughput of the event codec against the schema-registry client's own decode with a reader
 * schema, on the same records, in the same run (ratios, not absolute figures, are what to compare).
 * Records are written with a newer schema (one extra field), so both must resolve writer -> reader.
 *
 *   npm run bench:codec [-- --records 20000]
 * Needs a registry: the local stack (npm run stack -- start) or SCHEMA_REGISTRY_URL.
 */
import { parseArgs } from 'node:util';
import {
  AvroCodec,
  createRegistry,
  type EmailEvent,
  emailEventSchema,
  registerSchema,
} from '@hookpost/events';
import { eventGenerator } from '@hookpost/loadgen';
import { SchemaType } from '@kafkajs/confluent-schema-registry';

const { values } = parseArgs({ options: { records: { type: 'string', default: '20000' } } });
const n = Number(values.records);
const url = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const registry = createRegistry(url);

const v1 = emailEventSchema();
const v2 = {
  ...v1,
  fields: [...(v1.fields as object[]), { name: 'ip_pool', type: ['null', 'string'], default: null }],
};
const subject = `bench-codec-${Date.now()}-value`;
await registerSchema(registry, url, subject, v1);
const writerId = await registerSchema(registry, url, subject, v2);

const writer = new AvroCodec<EmailEvent & { ip_pool: string | null }>(registry, v2);
const gen = eventGenerator({ domains: 10, seed: 3 });
const records = Array.from({ length: n }, () => writer.encode(writerId, { ...gen(), ip_pool: 'a' }));

const ours = new AvroCodec<EmailEvent>(registry, v1);
const readerSchema = v1 as never;

async function time(label: string, decode: (b: Buffer) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(500, n); i++) await decode(records[i]!); // warm caches and the JIT
  const start = process.hrtime.bigint();
  for (const r of records) await decode(r);
  const perSec = n / (Number(process.hrtime.bigint() - start) / 1e9);
  console.log(`${label.padEnd(44)} ${Math.round(perSec).toString().padStart(9)} records/s`);
  return perSec;
}

const lib = await time('registry client decode(readerSchema)', (b) =>
  registry.decode(b, { [SchemaType.AVRO]: { readerSchema } }),
);
const cached = await time('AvroCodec (resolver cached per schema id)', async (b) => {
  const r = await ours.decode(b);
  if (!r.ok) throw new Error(r.error);
  return r.value;
});
console.log(
  `ratio: AvroCodec is ${(cached / lib).toFixed(1)}x the client's decode with a reader schema (${n} records)`,
);
