/**
 * fast-check arbitraries of hostile Kafka records: arbitrary bytes, arbitrary JSON shapes, and records
 * shaped like the real ones with one field mutated so that no complete schema of the contract can
 * accept it (a declared field given a JSON type it never has, or a field every reader needs removed).
 */
import fc from 'fast-check';

export interface HostileRecord {
  key: Buffer | string | null;
  value: Buffer | null;
  headers?: Record<string, string | Buffer | (string | Buffer)[]>;
}

/** JSON types a field may have: 'number' covers integers too. */
type JsonType = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object';
export type FieldSpec = Record<string, readonly JsonType[]>;

function jsonType(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v as JsonType;
}

const wrongValue = (allowed: readonly JsonType[]) =>
  fc
    .oneof(
      fc.string({ maxLength: 12 }),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
    )
    .filter((v) => !allowed.includes(jsonType(v)));

/**
 * A template with one field mutated: replaced by a value of a JSON type the field never has, or (for
 * `removable` fields, which every reader needs) removed. `nested` mutates inside an object field.
 */
export function mutated(
  template: () => Record<string, unknown>,
  spec: FieldSpec,
  removable: readonly string[],
  nested: Record<string, { spec: FieldSpec; removable: readonly string[] }> = {},
): fc.Arbitrary<Record<string, unknown>> {
  const top = fc.oneof(
    fc
      .constantFrom(...Object.keys(spec))
      .chain((field) => wrongValue(spec[field]!).map((v) => ({ path: [field], v, del: false }))),
    fc.constantFrom(...removable).map((field) => ({ path: [field], v: undefined, del: true })),
  );
  const inner = Object.entries(nested).map(([outer, n]) =>
    fc.oneof(
      fc
        .constantFrom(...Object.keys(n.spec))
        .chain((f) => wrongValue(n.spec[f]!).map((v) => ({ path: [outer, f], v, del: false }))),
      fc.constantFrom(...n.removable).map((f) => ({ path: [outer, f], v: undefined, del: true })),
    ),
  );
  return fc.oneof(top, ...inner).map(({ path, v, del }) => {
    const doc = template();
    let target = doc;
    for (const p of path.slice(0, -1)) {
      target[p] = { ...(target[p] as Record<string, unknown>) };
      target = target[p] as Record<string, unknown>;
    }
    const last = path.at(-1)!;
    if (del) delete target[last];
    else target[last] = v;
    return doc;
  });
}

const text = (v: unknown): string => {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return 'unserialisable';
  }
};

/** True when the value is an object carrying every `required` field with the right JSON type. */
function hasFields(v: unknown, required: FieldSpec): boolean {
  if (jsonType(v) !== 'object') return false;
  return Object.entries(required).every(([f, types]) =>
    types.includes(jsonType((v as Record<string, unknown>)[f])),
  );
}

/**
 * Values no reader of a topic may accept: bytes, JSON that is not the document (filtered by the
 * fields every reader needs), empty values, and `mutants`. Tombstones only when `tombstones`.
 */
export function badValue(
  needs: FieldSpec,
  mutants: fc.Arbitrary<Record<string, unknown>>,
  options: { tombstones: boolean },
): fc.Arbitrary<Buffer | null> {
  const notDoc = (v: unknown) => !hasFields(v, needs);
  const arbs: fc.Arbitrary<Buffer | null>[] = [
    fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)),
    fc
      .jsonValue({ maxDepth: 3 })
      .filter(notDoc)
      .map((v) => Buffer.from(text(v))),
    fc
      .anything({ maxDepth: 2 })
      .filter(notDoc)
      .map((v) => Buffer.from(text(v))),
    fc.string({ unit: 'binary', maxLength: 40 }).map((s) => Buffer.from(s)),
    fc.constantFrom('', '{', '[]', 'null', '{"a":', '\u0000', '"x"').map((s) => Buffer.from(s)),
    mutants.map((d) => Buffer.from(JSON.stringify(d))),
    mutants.map((d) => Buffer.from(JSON.stringify(d))),
  ];
  if (options.tombstones) arbs.push(fc.constant(null));
  return fc.oneof(...arbs);
}

/**
 * Bad records in a framed form (4 bytes of magic · a head's JSON · `\n` · one part as its own bytes:
 * libs/contracts wire-frame.ts, what the fan-out and the batcher write): bytes after the magic, a
 * mutated head before a good part, a good head before a part its reader must refuse, a head without
 * the newline.
 */
export function badFramed(
  magic: Buffer,
  head: { good: () => Record<string, unknown>; mutants: fc.Arbitrary<Record<string, unknown>> },
  part: { good: () => Buffer; bad: fc.Arbitrary<Buffer> },
): fc.Arbitrary<Buffer> {
  const newline = Buffer.from('\n');
  const frame = (h: unknown, p: Buffer) => Buffer.concat([magic, Buffer.from(text(h)), newline, p]);
  return fc.oneof(
    fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.concat([magic, b])),
    head.mutants.map((h) => frame(h, part.good())),
    part.bad.map((p) => frame(head.good(), p)),
    fc.constant(null).map(() => Buffer.concat([magic, Buffer.from(text(head.good()))])),
  );
}

/** Bytes that are not UTF-8 (a part that must decode: a batch body, a dispatch record's data). */
export const notUtf8 = fc
  .tuple(
    fc.string({ maxLength: 20 }),
    fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]),
  )
  .map(([s, bad]) =>
    Buffer.concat([Buffer.from(`{"a":"${s.replace(/["\\]/g, '')}`), Buffer.from(bad), Buffer.from('"}')]),
  );

/** Keys: the given ids (so bad records share partitions with good ones), arbitrary strings and bytes. */
export function anyKey(ids: readonly string[], nullable: boolean): fc.Arbitrary<Buffer | string | null> {
  const arbs: fc.Arbitrary<Buffer | string | null>[] = [
    ...(ids.length > 0 ? [fc.constantFrom(...ids)] : []),
    fc.string({ maxLength: 20 }),
    fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)),
  ];
  if (nullable) arbs.push(fc.constant(null));
  return fc.oneof(...arbs);
}

/** Arbitrary headers, and hostile x-due-at values every tier reader must take as due now. */
const INVALID_DUE = [
  'abc',
  '',
  ' 5',
  '1e3',
  '-1',
  '1.5',
  'NaN',
  '0x10',
  '32503680000000', // year 3000
  '9999999999999999', // far past any horizon
];
export const anyHeaders = fc.dictionary(
  fc.string({ maxLength: 8 }),
  fc.oneof(
    fc.string({ maxLength: 10 }),
    fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
  ),
  { maxKeys: 3 },
);
export const dueHeader: fc.Arbitrary<string | string[]> = fc.oneof(
  fc.constantFrom(...INVALID_DUE),
  fc.constant(0).map((): string[] => ['1', '32503680000000']),
);

/** Positions at which to insert `n` good records among `length` bad ones. */
export const positions = (n: number, length: number) =>
  fc.array(fc.nat(length), { minLength: n, maxLength: n });

export function interleave<T>(bad: T[], good: T[], at: number[]): T[] {
  const out = [...bad];
  for (const [i, g] of good.entries()) out.splice(Math.min(at[i] ?? 0, out.length), 0, g);
  return out;
}
