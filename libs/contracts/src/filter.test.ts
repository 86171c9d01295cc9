import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFilter, FILTER_LIMITS, filterPredicate, filterSubject } from './filter.ts';

const event = filterSubject('activity.opened', 'dom1', '2026-12-02T10:00:00.000000Z', {
  object: 'activity',
  id: 'ev1',
  type: 'opened',
  email: {
    subject: 'Your order',
    status: 'delivered',
    tags: ['orders', 'eu'],
    headers: null,
    recipient: { object: 'recipient', email: 'ann@example.com' },
    list: [
      { name: 'a', n: 1 },
      { name: 'b', n: 5 },
    ],
  },
  template_id: 'tpl_2',
  morph: null,
});

const test = (filter: unknown) => {
  const c = compileFilter(filter);
  if (!c.ok) throw new Error(`${c.path} ${c.message}`);
  return c.test(event);
};
const error = (filter: unknown) => {
  const c = compileFilter(filter);
  return c.ok ? 'compiled' : `${c.path}: ${c.message}`;
};

describe('filter semantics', () => {
  it.each([
    [{}, true],
    [{ type: 'activity.opened' }, true],
    [{ type: 'activity.clicked' }, false],
    [{ data: { email: { tags: 'orders' } } }, true],
    [{ data: { email: { tags: 'us' } } }, false],
    [{ data: { email: { tags: ['eu', 'orders'] } } }, true],
    [{ data: { email: { tags: ['eu', 'us'] } } }, false],
    [{ data: { email: { tags: { $contains: 'eu' } } } }, true],
    [{ data: { email: { subject: { $contains: 'order' } } } }, true],
    [{ data: { email: { recipient: { email: { $endsWith: '@example.com' } } } } }, true],
    [{ data: { email: { recipient: { email: { $endsWith: '@example.org' } } } } }, false],
    [{ data: { email: { recipient: { email: { $startsWith: 'ann@' } } } } }, true],
    [{ data: { template_id: { $in: ['tpl_1', 'tpl_2'] } } }, true],
    [{ data: { template_id: { $nin: ['tpl_1', 'tpl_2'] } } }, false],
    [{ data: { template_id: { $neq: 'tpl_1' } } }, true],
    [{ data: { email: { tags: { $in: ['us', 'eu'] } } } }, true],
    [{ data: { email: { tags: { $nin: ['us', 'eu'] } } } }, false],
    [{ data: { morph: null } }, true],
    [{ data: { morph: { $exists: true } } }, true],
    [{ data: { nothing: { $exists: false } } }, true],
    [{ data: { nothing: { $exist: true } } }, false],
    [{ data: { nothing: { $neq: 'x' } } }, true],
    [{ data: { nothing: 'x' } }, false],
    [{ data: { email: { list: { n: { $gte: 5 } } } } }, true],
    [{ data: { email: { list: { n: { $gt: 5 } } } } }, false],
    [{ data: { email: { list: { name: 'b', n: 5 } } } }, true],
    [{ created_at: { $gte: '2026-12-01', $lt: '2026-12-03' } }, true],
    [{ created_at: { $lte: 5 } }, false],
    [{ $or: [{ type: 'activity.clicked' }, { data: { template_id: 'tpl_2' } }] }, true],
    [{ $and: [{ type: 'activity.opened' }, { data: { template_id: 'tpl_1' } }] }, false],
    [{ $not: { type: 'activity.clicked' } }, true],
    [{ data: { email: { tags: { $not: { $in: ['us'] } } } } }, true],
    [{ data: { $or: [{ type: 'x' }, { type: 'opened' }] } }, true],
    [{ type: 'activity.opened', $not: { domain_id: 'dom1' } }, false],
    [JSON.parse('{"__proto__":"x"}'), false],
    [JSON.parse('{"data":{"__proto__":{"$exists":true}}}'), false],
    [{ data: { constructor: { $exists: true } } }, false],
  ])('%j → %s', (filter, expected) => {
    expect(test(filter)).toBe(expected);
  });

  it('names the exact place of a mistake', () => {
    expect(error({ $and: [{}, { tags: { $in: 'x' } }] })).toBe('$and[1].tags.$in: must be an array');
    expect(error({ $and: [{}, { tags: { $in: [{}] } }] })).toBe(
      '$and[1].tags.$in[0]: must be a string, number, boolean or null',
    );
    expect(error({ a: { $regex: 'x' } })).toMatch(/^a\.\$regex: is not an operator/);
    expect(error({ a: { $eq: 1, b: 2 } })).toBe('a.b: is a field name beside the operator $eq');
    expect(error({ $or: [] })).toBe('$or: must not be empty');
    expect(error({ $or: ['x'] })).toBe('$or[0]: must be an object (a match document)');
    expect(error({ a: { $gt: true } })).toBe('a.$gt: must be a number or a string');
    expect(error({ a: { $startsWith: 1 } })).toBe('a.$startsWith: must be a string');
    expect(error({ a: { $exists: 'yes' } })).toBe('a.$exists: must be true or false');
    expect(error({ '': 1 })).toBe(': a field name must not be empty');
    expect(error(['x'])).toBe(': must be an object (a match document)');
    expect(error(null)).toBe(': must be an object (a match document)');
  });
});

/** `{a:{a:…{a:1}}}` with `levels` objects. */
const nested = (levels: number) => {
  let f: unknown = 1;
  for (let i = 0; i < levels; i += 1) f = { a: f };
  return f;
};
/** An object of `n - 1` fields holding a number: n nodes. */
const wideOf = (n: number) => Object.fromEntries(Array.from({ length: n - 1 }, (_, i) => [`k${i}`, i]));
/** An `$and` of `n - 2` leaves: the filter, the array and the leaves are n nodes. */
const nodes = (n: number) => ({ $and: Array.from({ length: n - 2 }, () => ({})) });

describe('filter limits, at, just past and far past', () => {
  it('depth', () => {
    expect(error(nested(FILTER_LIMITS.maxDepth))).toBe('compiled');
    expect(error(nested(FILTER_LIMITS.maxDepth + 1))).toMatch(/^a(\.a){7}: is nested deeper than 8 levels$/);
    // Far past: refused at the limit's level, without walking (or overflowing the stack on) the rest.
    expect(error(nested(100_000))).toMatch(/is nested deeper than 8 levels$/);
  });

  it('nodes', () => {
    expect(error(wideOf(FILTER_LIMITS.maxNodes))).toBe('compiled');
    expect(error(wideOf(FILTER_LIMITS.maxNodes + 1))).toBe(
      'k255: has more than 256 nodes in the whole filter',
    );
    expect(error(nodes(FILTER_LIMITS.maxArray + 2))).toBe('compiled');
    expect(error({ a: { $in: Array.from({ length: 99 }, (_, i) => i) }, b: { $in: [1, 2] } })).toBe(
      'compiled',
    );
    expect(error(wideOf(10_000))).toBe('k255: has more than 256 nodes in the whole filter');
  });

  it('string length, of values and of field names', () => {
    const at = 'x'.repeat(FILTER_LIMITS.maxString);
    expect(error({ a: at })).toBe('compiled');
    expect(error({ a: `${at}x` })).toBe('a: may not be longer than 256 characters');
    expect(error({ a: 'x'.repeat(1_000_000) })).toBe('a: may not be longer than 256 characters');
    expect(error({ [at]: 1 })).toBe('compiled');
    expect(error({ [`${at}x`]: 1 })).toMatch(/: may not be longer than 256 characters$/);
  });

  it('array length', () => {
    const arr = (n: number) => Array.from({ length: n }, (_, i) => `v${i}`);
    expect(error({ a: { $in: arr(FILTER_LIMITS.maxArray) } })).toBe('compiled');
    expect(error({ a: { $in: arr(FILTER_LIMITS.maxArray + 1) } })).toBe(
      'a.$in: may not have more than 100 items',
    );
    expect(error({ a: { $in: arr(1_000_000) } })).toBe('a.$in: may not have more than 100 items');
  });
});

describe('filter properties', () => {
  it('compiling arbitrary JSON never throws, and a compiled filter never throws on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.jsonValue({ maxDepth: 6 }), (filter, value) => {
        const c = compileFilter(filter);
        if (c.ok) expect(typeof c.test(value)).toBe('boolean');
        else expect(c.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('$not inverts, $or of one is the branch, and a cached predicate is the compiled one', () => {
    const leaf = fc.oneof(
      fc.record({ type: fc.constantFrom('activity.opened', 'activity.sent') }),
      fc.record({ data: fc.record({ template_id: fc.constantFrom('tpl_1', 'tpl_2') }) }),
    );
    fc.assert(
      fc.property(leaf, (f) => {
        expect(test({ $not: f })).toBe(!test(f));
        expect(test({ $or: [f] })).toBe(test(f));
        expect(filterPredicate(f)(event)).toBe(test(f));
      }),
    );
  });
});
