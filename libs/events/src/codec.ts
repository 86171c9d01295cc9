import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';

/** Why a record could not be decoded. Every one of these is poison: retrying cannot help. */
type PoisonReason = 'empty' | 'bad-magic' | 'unknown-schema' | 'unresolvable' | 'corrupt';

export type DecodeResult<T> =
  | { ok: true; value: T; schemaId: number }
  | { ok: false; reason: PoisonReason; error: string; schemaId?: number };

/** The registry could not be asked (network, 5xx): transient, the caller retries, nothing is dead-lettered. */
export class RegistryUnavailableError extends Error {
  readonly code = 'REGISTRY_UNAVAILABLE';
}

type Resolved = { ok: true; resolver: avro.Resolver } | { ok: false; reason: PoisonReason; error: string };

const MAGIC = 0;
const HEADER = 5;

/**
 * Confluent wire format (magic byte 0, 4-byte schema id, Avro body) with a fixed reader schema.
 * Writer schemas are fetched once per id and the resolver from writer to reader is cached per id:
 * the registry client's own decode(readerSchema) rebuilds the resolver on every call (~70x slower).
 */
export class AvroCodec<T> {
  readonly reader: avro.Type;
  private readonly resolvers = new Map<number, Resolved>();
  private readonly pending = new Map<number, Promise<Resolved>>();

  private readonly registry: SchemaRegistry;

  constructor(registry: SchemaRegistry, readerSchema: Record<string, unknown>) {
    this.registry = registry;
    this.reader = avro.Type.forSchema(readerSchema as avro.Schema);
  }

  /** Encodes with the given registered writer schema id; the value must match the reader schema. */
  encode(schemaId: number, value: T): Buffer {
    const body = this.reader.toBuffer(value);
    const out = Buffer.allocUnsafe(HEADER + body.length);
    out.writeUInt8(MAGIC, 0);
    out.writeUInt32BE(schemaId, 1);
    body.copy(out, HEADER);
    return out;
  }

  /** Explains why `value` does not fit the schema, or returns undefined when it does. */
  invalidPaths(value: unknown): string[] | undefined {
    const paths: string[] = [];
    const ok = this.reader.isValid(value, { errorHook: (path) => paths.push(path.join('.')) });
    return ok ? undefined : paths;
  }

  /** Throws only RegistryUnavailableError; every property of the bytes themselves is a result. */
  async decode(buffer: Buffer | null): Promise<DecodeResult<T>> {
    if (!buffer || buffer.length === 0) return { ok: false, reason: 'empty', error: 'record has no value' };
    if (buffer.length < HEADER || buffer[0] !== MAGIC) {
      return { ok: false, reason: 'bad-magic', error: `not Confluent wire format (first byte ${buffer[0]})` };
    }
    const schemaId = buffer.readUInt32BE(1);
    const resolved = this.resolvers.get(schemaId) ?? (await this.resolve(schemaId));
    if (!resolved.ok) return { ...resolved, schemaId };
    try {
      // noCheck=false: trailing bytes after the record are corruption, not something to ignore.
      const value = this.reader.fromBuffer(buffer.subarray(HEADER), resolved.resolver, false) as T;
      return { ok: true, value, schemaId };
    } catch (error) {
      return { ok: false, reason: 'corrupt', error: (error as Error).message, schemaId };
    }
  }

  private resolve(schemaId: number): Promise<Resolved> {
    let p = this.pending.get(schemaId);
    if (!p) {
      p = this.fetchResolver(schemaId).finally(() => this.pending.delete(schemaId));
      this.pending.set(schemaId, p);
    }
    return p;
  }

  private async fetchResolver(schemaId: number): Promise<Resolved> {
    let writer: unknown;
    try {
      writer = await this.registry.getSchema(schemaId);
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status === 404) {
        // Cached: an unknown id stays unknown (ids are never reused), and a flood of such records
        // must not turn into a flood of registry requests.
        const r: Resolved = {
          ok: false,
          reason: 'unknown-schema',
          error: `schema id ${schemaId} is not in the registry`,
        };
        this.resolvers.set(schemaId, r);
        return r;
      }
      throw new RegistryUnavailableError(`schema registry unavailable: ${(error as Error).message}`);
    }
    let r: Resolved;
    if (!avro.Type.isType(writer)) {
      r = { ok: false, reason: 'unresolvable', error: `schema id ${schemaId} is not an Avro schema` };
    } else {
      try {
        r = { ok: true, resolver: this.reader.createResolver(writer as avro.Type) };
      } catch (error) {
        r = {
          ok: false,
          reason: 'unresolvable',
          error: `schema id ${schemaId}: ${(error as Error).message}`,
        };
      }
    }
    this.resolvers.set(schemaId, r);
    return r;
  }
}
