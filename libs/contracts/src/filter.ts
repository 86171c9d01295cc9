/**
 * Content filters of a webhook: a JSON match document (the syntax of Hookdeck's and Hookdeck Outpost's
 * filters, which Convoy shares) compiled once into a predicate over the event as the receiver gets it
 * (`type`, `domain_id`, `created_at`, `data`). Safe by construction: no code, no regular expressions
 * (so no backtracking), bounded depth, node count, string and array length; evaluation costs at most
 * one step per filter node per element of the event arrays it meets. docs/filters.md is the guide.
 *
 * A pattern applied to a value:
 * - a string, number, boolean or null: equal, or an array value contains it;
 * - an array of those: the value is an array containing every one;
 * - an object: every key holds (AND). A key is an operator (`$eq`, `$in`, `$and`, …) applied to the
 *   value itself, or a field name whose pattern applies to that field of the value (of one of its
 *   elements, for an array of objects); a missing field is `undefined`, which only `$exists: false`,
 *   `$neq`, `$nin` and a `$not` match. Comparison operators and field names do not mix in one object.
 */

/** What a filter may be at most; the API refuses more with a 422 naming the place. */
export const FILTER_LIMITS = {
  /** Objects and arrays nested in one another, the filter itself being depth 1. */
  maxDepth: 8,
  /** Every object, array, string, number, boolean and null in the filter. */
  maxNodes: 256,
  /** Characters of a string value or of a field name. */
  maxString: 256,
  /** Items of one array (`$in` lists, `$and`/`$or` branches). */
  maxArray: 100,
} as const;

export type Predicate = (value: unknown) => boolean;
export type FilterCompiled = { ok: true; test: Predicate } | { ok: false; path: string; message: string };

type Primitive = string | number | boolean | null;

const COMPARISON = new Set([
  '$eq',
  '$neq',
  '$in',
  '$nin',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$contains',
  '$startsWith',
  '$endsWith',
  '$exists',
  '$exist',
]);
const LOGICAL = new Set(['$and', '$or', '$not']);

class FilterError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

const isPrimitive = (v: unknown): v is Primitive =>
  v === null ||
  typeof v === 'string' ||
  typeof v === 'boolean' ||
  (typeof v === 'number' && Number.isFinite(v));
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (v: Record<string, unknown>, key: string): unknown =>
  Object.hasOwn(v, key) ? v[key] : undefined;
/** `test` on the value, or on any element when the value is an array. */
const anyOf =
  (test: (v: unknown) => boolean): Predicate =>
  (v) =>
    Array.isArray(v) ? v.some(test) : test(v);

/** Compiled filters by filter object: what the subscription table validated, fan-out reuses. */
const cache = new WeakMap<object, Predicate>();

/** Compiles a filter once; the result's `test` is pure and never throws. Never throws itself. */
export function compileFilter(filter: unknown): FilterCompiled {
  const state = { nodes: 0 };
  try {
    if (!isObject(filter)) throw new FilterError('', 'must be an object (a match document)');
    const test = compilePattern(filter, '', 1, state);
    cache.set(filter, test);
    return { ok: true, test };
  } catch (error) {
    if (error instanceof FilterError) return { ok: false, path: error.path, message: error.message };
    throw error;
  }
}

/**
 * The predicate of a stored filter, compiled on first use and kept as long as the filter object lives:
 * the subscription table replaces a webhook's document on every change, so this compiles once per
 * change. A filter that does not compile (never stored: the API and the table refuse it) matches nothing.
 */
export function filterPredicate(filter: object): Predicate {
  const cached = cache.get(filter);
  if (cached) return cached;
  const compiled = compileFilter(filter);
  if (compiled.ok) return compiled.test;
  const never: Predicate = () => false;
  cache.set(filter, never);
  return never;
}

function count(state: { nodes: number }, path: string): void {
  state.nodes += 1;
  if (state.nodes > FILTER_LIMITS.maxNodes)
    throw new FilterError(path, `has more than ${FILTER_LIMITS.maxNodes} nodes in the whole filter`);
}

function checkString(s: string, path: string): void {
  if (s.length > FILTER_LIMITS.maxString)
    throw new FilterError(path, `may not be longer than ${FILTER_LIMITS.maxString} characters`);
}

function primitive(v: unknown, path: string, state: { nodes: number }): Primitive {
  count(state, path);
  if (!isPrimitive(v)) throw new FilterError(path, 'must be a string, number, boolean or null');
  if (typeof v === 'string') checkString(v, path);
  return v;
}

function list(v: unknown, path: string, depth: number, state: { nodes: number }): unknown[] {
  count(state, path);
  if (!Array.isArray(v)) throw new FilterError(path, 'must be an array');
  if (depth > FILTER_LIMITS.maxDepth)
    throw new FilterError(path, `is nested deeper than ${FILTER_LIMITS.maxDepth} levels`);
  if (v.length === 0) throw new FilterError(path, 'must not be empty');
  if (v.length > FILTER_LIMITS.maxArray)
    throw new FilterError(path, `may not have more than ${FILTER_LIMITS.maxArray} items`);
  return v;
}

function primitives(v: unknown, path: string, depth: number, state: { nodes: number }): Primitive[] {
  return list(v, path, depth, state).map((item, i) => primitive(item, `${path}[${i}]`, state));
}

const equals =
  (p: Primitive): Predicate =>
  (v) =>
    v === p || (Array.isArray(v) && v.includes(p));

function compilePattern(pattern: unknown, path: string, depth: number, state: { nodes: number }): Predicate {
  if (isPrimitive(pattern)) return equals(primitive(pattern, path, state));
  if (Array.isArray(pattern)) {
    const all = primitives(pattern, path, depth, state);
    return (v) => Array.isArray(v) && all.every((p) => v.includes(p));
  }
  count(state, path);
  if (!isObject(pattern))
    throw new FilterError(path, 'must be a string, number, boolean, null, array or object');
  if (depth > FILTER_LIMITS.maxDepth)
    throw new FilterError(path, `is nested deeper than ${FILTER_LIMITS.maxDepth} levels`);
  const keys = Object.keys(pattern);
  const comparison = keys.find((k) => COMPARISON.has(k));
  const field = keys.find((k) => !k.startsWith('$'));
  if (comparison !== undefined && field !== undefined)
    throw new FilterError(join(path, field), `is a field name beside the operator ${comparison}`);
  const tests: Predicate[] = [];
  for (const key of keys) {
    const at = join(path, key);
    checkString(key, at);
    const arg = pattern[key];
    if (!key.startsWith('$')) {
      if (key === '') throw new FilterError(at, 'a field name must not be empty');
      tests.push(fieldTest(key, compilePattern(arg, at, depth + 1, state)));
    } else if (LOGICAL.has(key)) {
      tests.push(logical(key, arg, at, depth, state));
    } else if (COMPARISON.has(key)) {
      tests.push(operator(key, arg, at, depth, state));
    } else {
      throw new FilterError(at, `is not an operator; use one of ${[...LOGICAL, ...COMPARISON].join(', ')}`);
    }
  }
  if (tests.length === 1) return tests[0]!;
  return (v) => tests.every((t) => t(v));
}

/** A field test's path and the test of the value at its end, so that a parent field fuses with it. */
const paths = new WeakMap<Predicate, { keys: string[]; leaf: Predicate }>();
/** Names an object may inherit (`constructor`, `__proto__`, …): read as own properties only. */
const inherited = (key: string) => key in Object.prototype;

/**
 * The test of `sub` on field `key` of the value (of any element, for an array of objects). A chain of
 * single-field objects (`{data:{email:{tags:…}}}`) becomes one walk down the keys rather than one
 * closure call per level: the fan-out's hot path.
 */
function fieldTest(key: string, sub: Predicate): Predicate {
  const inner = paths.get(sub);
  const keys = inner ? [key, ...inner.keys] : [key];
  const leaf = inner ? inner.leaf : sub;
  const guarded = keys.map(inherited);
  const walk = (value: unknown, from: number): boolean => {
    let v = value;
    for (let i = from; i < keys.length; i += 1) {
      if (Array.isArray(v)) {
        const at = i;
        return v.some((e) => isObject(e) && walk(guarded[at] ? own(e, keys[at]!) : e[keys[at]!], at + 1));
      }
      if (!isObject(v)) v = undefined;
      else v = guarded[i] ? own(v, keys[i]!) : v[keys[i]!];
    }
    return leaf(v);
  };
  const test: Predicate = (v) => walk(v, 0);
  paths.set(test, { keys, leaf });
  return test;
}

/** The field an error names, from the filter's own path: `filter`, `filter.$and[1].tags.$in`. */
export function filterField(path: string): string {
  return path === '' ? 'filter' : `filter.${path}`;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function logical(key: string, arg: unknown, at: string, depth: number, state: { nodes: number }): Predicate {
  if (key === '$not') {
    const inner = compilePattern(arg, at, depth + 1, state);
    return (v) => !inner(v);
  }
  const branches = list(arg, at, depth + 1, state).map((b, i) => {
    if (!isObject(b)) throw new FilterError(`${at}[${i}]`, 'must be an object (a match document)');
    return compilePattern(b, `${at}[${i}]`, depth + 2, state);
  });
  return key === '$and' ? (v) => branches.every((b) => b(v)) : (v) => branches.some((b) => b(v));
}

function operator(key: string, arg: unknown, at: string, depth: number, state: { nodes: number }): Predicate {
  switch (key) {
    case '$eq':
      return equals(primitive(arg, at, state));
    case '$neq': {
      const eq = equals(primitive(arg, at, state));
      return (v) => !eq(v);
    }
    case '$in':
    case '$nin': {
      const set = new Set(primitives(arg, at, depth + 1, state));
      const inSet = anyOf((v) => set.has(v as Primitive));
      return key === '$in' ? inSet : (v) => !inSet(v);
    }
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      const bound = primitive(arg, at, state);
      if (typeof bound !== 'number' && typeof bound !== 'string')
        throw new FilterError(at, 'must be a number or a string');
      const cmp = compare(key, bound);
      return anyOf((v) => typeof v === typeof bound && cmp(v as number | string));
    }
    case '$contains': {
      const needle = primitive(arg, at, state);
      return (v) =>
        (typeof v === 'string' && typeof needle === 'string' && v.includes(needle)) ||
        (Array.isArray(v) && v.includes(needle));
    }
    case '$startsWith':
    case '$endsWith': {
      const s = primitive(arg, at, state);
      if (typeof s !== 'string') throw new FilterError(at, 'must be a string');
      return key === '$startsWith'
        ? anyOf((v) => typeof v === 'string' && v.startsWith(s))
        : anyOf((v) => typeof v === 'string' && v.endsWith(s));
    }
    default: {
      // $exists, and $exist as Hookdeck Outpost spells it.
      const want = primitive(arg, at, state);
      if (typeof want !== 'boolean') throw new FilterError(at, 'must be true or false');
      return (v) => (v !== undefined) === want;
    }
  }
}

function compare(key: string, bound: number | string): (v: number | string) => boolean {
  if (key === '$gt') return (v) => v > bound;
  if (key === '$gte') return (v) => v >= bound;
  if (key === '$lt') return (v) => v < bound;
  return (v) => v <= bound;
}

/** The part of a webhook payload a filter sees: the envelope's shared fields and `data`. */
export function filterSubject(
  type: string,
  domainId: string,
  createdAt: string,
  data: Record<string, unknown>,
): Record<string, unknown> {
  return { type, domain_id: domainId, created_at: createdAt, data };
}
