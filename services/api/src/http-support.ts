/**
 * Pieces of the HTTP surface: the body parser, ajv errors as MailerSend-style field errors, pagination,
 * a per-key lock.
 */
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FieldErrors } from './webhook-doc.ts';

export const INVALID = 'The given data was invalid.';

/** Longest request target answered (414 beyond); Node itself answers 431 past its 16 KiB header limit. */
export const MAX_URL_LENGTH = 8192;

/**
 * Bodies are JSON and nothing else: fastify's text/plain parser goes (so another type is a 415, not a
 * string the schema then refuses with 422), and the JSON parser reads bytes, so that invalid UTF-8 is a
 * 400 instead of text silently carrying U+FFFD into the stored webhook.
 */
export function acceptJsonBodiesOnly(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    if (!isUtf8(body as Buffer))
      return done(Object.assign(new Error('Request body is not valid UTF-8.'), { statusCode: 400 }));
    const text = (body as Buffer).toString('utf8');
    parseJson(request, text, (error, value) => {
      // The parser refuses `__proto__` keys and `constructor.prototype` (prototype poisoning) as
      // "not valid JSON", though the text is JSON: name the field instead, as for any refused field.
      const at = error ? forbiddenKeyPath(text) : null;
      if (at === null) return done(error, value);
      const validation = [{ keyword: 'forbiddenKey', instancePath: at, params: {}, message: FORBIDDEN }];
      done(Object.assign(new Error(FORBIDDEN), { statusCode: 422, validation, validationContext: 'body' }));
    });
  });
}

const FORBIDDEN = 'is a reserved key (__proto__, or constructor with a prototype) and not allowed';

/**
 * Where valid JSON has a key the parser refuses, as a JSON pointer (ajv's instancePath form); null when
 * the text is not JSON at all or has none. JSON.parse keeps `__proto__` as a plain own key, so the walk
 * sees it; one of them is named.
 */
function forbiddenKeyPath(text: string): string | null {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return null;
  }
  const pointer = (k: string) => k.replaceAll('~', '~0').replaceAll('/', '~1');
  // A stack, not recursion: a body may nest as deep as its size allows.
  const stack: [unknown, string][] = [[root, '']];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [v, path] = next;
    if (v === null || typeof v !== 'object') continue;
    for (const k of Object.keys(v)) {
      const child = (v as Record<string, unknown>)[k];
      const here = `${path}/${pointer(k)}`;
      if (k === '__proto__') return here;
      if (
        k === 'constructor' &&
        child !== null &&
        typeof child === 'object' &&
        Object.hasOwn(child, 'prototype')
      )
        return here;
      stack.push([child, here]);
    }
  }
  return null;
}

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

const field = (path: string) => path.replace(/^\//, '').replaceAll('/', '.');
const join = (base: string, name: string) => (base ? `${base}.${name}` : name);

/** `{ "<field>": ["…"] }` from ajv errors; the field is a dotted path (`events.0`, `batch.max_events`). */
export function fieldErrors(errors: readonly AjvError[], context: string | undefined): FieldErrors {
  // No prototype: a field named `__proto__` (refused, so named here) is then a key like any other.
  const out: FieldErrors = Object.create(null);
  for (const e of errors) {
    let name = field(e.instancePath);
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      name = join(name, String(e.params.additionalProperty));
      message = 'is not a known field';
    } else if (e.keyword === 'required') {
      name = join(name, String(e.params.missingProperty));
      message = 'is required';
    } else if (e.keyword === 'maxLength') {
      message = `may not be greater than ${String(e.params.limit)} characters`;
    } else if (e.keyword === 'enum') {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      message = name.startsWith('events')
        ? `must be one of the event types: ${allowed.join(', ')}`
        : `must be one of: ${allowed.join(', ')}`;
    }
    const key = name || (context === 'body' ? 'body' : (context ?? 'request'));
    out[key] ??= [];
    if (!out[key].includes(message)) out[key].push(message);
  }
  return out;
}

const patterns = new Map<string, RegExp>();
const patternOf = (url: string) => {
  let re = patterns.get(url);
  if (!re) {
    const escaped = url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+');
    re = new RegExp(`^${escaped}$`);
    patterns.set(url, re);
  }
  return re;
};

/** The methods of the routes whose pattern matches the request's (decoded) path: the 405's Allow. */
export function methodsAt(routes: readonly { method: string; url: string }[], rawUrl: string): string[] {
  let path: string;
  try {
    path = decodeURIComponent(rawUrl.split('?')[0] ?? '');
  } catch {
    return [];
  }
  return [...new Set(routes.filter((r) => patternOf(r.url).test(path)).map((r) => r.method))];
}

export interface Page {
  page: number;
  limit: number;
  offset: number;
}

export function pageOf(query: { page?: string; limit?: string }): Page {
  const page = Number(query.page ?? 1);
  const limit = Number(query.limit ?? 25);
  return { page, limit, offset: (page - 1) * limit };
}

/** MailerSend's `links` and `meta` for a page of `total` items. */
export function pagination(request: FastifyRequest, p: Page, total: number) {
  const base = `${request.protocol}://${request.host}${request.url.split('?')[0]}`;
  const query = new URLSearchParams(request.query as Record<string, string>);
  const last = Math.max(1, Math.ceil(total / p.limit));
  const link = (n: number) => {
    query.set('page', String(n));
    return `${base}?${query.toString()}`;
  };
  return {
    links: {
      first: link(1),
      last: link(last),
      prev: p.page > 1 ? link(p.page - 1) : null,
      next: p.page < last ? link(p.page + 1) : null,
    },
    meta: {
      current_page: p.page,
      from: total > p.offset ? p.offset + 1 : null,
      last_page: last,
      path: base,
      per_page: p.limit,
      to: total > p.offset ? Math.min(p.offset + p.limit, total) : null,
      total,
    },
  };
}

/** Serialises read-modify-write per webhook within this process, so two updates cannot lose one another. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
