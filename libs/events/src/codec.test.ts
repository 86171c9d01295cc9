import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { AvroCodec, RegistryUnavailableError } from './codec.ts';

const v1 = { type: 'record', name: 'E', fields: [{ name: 'id', type: 'string' }] };
const v2 = {
  type: 'record',
  name: 'E',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'n', type: 'int', default: 0 },
  ],
};
const incompatible = { type: 'record', name: 'E', fields: [{ name: 'id', type: 'int' }] };

/** A registry stand-in: this unit test is about byte classification, not the registry protocol. */
function fakeRegistry(schemas: Record<number, object>, fail?: { status?: number }) {
  let calls = 0;
  const registry = {
    async getSchema(id: number) {
      calls += 1;
      if (fail) throw Object.assign(new Error('down'), fail);
      const s = schemas[id];
      if (!s) throw Object.assign(new Error('Schema not found'), { status: 404 });
      return avro.Type.forSchema(s as avro.Schema);
    },
  } as unknown as SchemaRegistry;
  return { registry, calls: () => calls };
}

describe('AvroCodec', () => {
  it('round-trips and resolves a newer writer schema to the reader, asking the registry once per id', async () => {
    const { registry, calls } = fakeRegistry({ 1: v1, 2: v2 });
    const reader = new AvroCodec<{ id: string }>(registry, v1);
    const writer2 = new AvroCodec<{ id: string; n: number }>(registry, v2);
    for (let i = 0; i < 3; i++) {
      expect(await reader.decode(reader.encode(1, { id: 'a' }))).toEqual({
        ok: true,
        value: { id: 'a' },
        schemaId: 1,
      });
      const r = await reader.decode(writer2.encode(2, { id: 'b', n: 5 }));
      expect(r).toMatchObject({ ok: true, value: { id: 'b' }, schemaId: 2 });
    }
    expect(calls()).toBe(2);
  });

  it('classifies every kind of bad bytes as poison with a reason', async () => {
    const { registry } = fakeRegistry({ 1: v1, 3: incompatible });
    const codec = new AvroCodec<{ id: string }>(registry, v1);
    const good = codec.encode(1, { id: 'abc' });
    expect(await codec.decode(null)).toMatchObject({ ok: false, reason: 'empty' });
    expect(await codec.decode(Buffer.from('{"json":true}'))).toMatchObject({
      ok: false,
      reason: 'bad-magic',
    });
    const unknown = Buffer.from(good);
    unknown.writeUInt32BE(99, 1);
    expect(await codec.decode(unknown)).toMatchObject({ ok: false, reason: 'unknown-schema', schemaId: 99 });
    const unresolvable = Buffer.from(good);
    unresolvable.writeUInt32BE(3, 1);
    expect(await codec.decode(unresolvable)).toMatchObject({
      ok: false,
      reason: 'unresolvable',
      schemaId: 3,
    });
    expect(await codec.decode(good.subarray(0, good.length - 1))).toMatchObject({
      ok: false,
      reason: 'corrupt',
    });
    expect(await codec.decode(Buffer.concat([good, Buffer.from([1, 2])]))).toMatchObject({
      ok: false,
      reason: 'corrupt',
    });
  });

  it('throws a retryable error, not poison, when the registry itself is down', async () => {
    const { registry } = fakeRegistry({}, { status: 503 });
    const codec = new AvroCodec<{ id: string }>(registry, v1);
    await expect(codec.decode(codec.encode(1, { id: 'x' }))).rejects.toBeInstanceOf(RegistryUnavailableError);
  });

  it('reports the paths of an invalid value', () => {
    const codec = new AvroCodec<{ id: string }>(fakeRegistry({}).registry, v1);
    expect(codec.invalidPaths({ id: 1 })).toEqual(['id']);
    expect(codec.invalidPaths({ id: 'ok' })).toBeUndefined();
  });
});
