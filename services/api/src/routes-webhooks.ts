/** CRUD of webhooks, after MailerSend's API; every write waits until this instance's table shows it. */
import { randomBytes } from 'node:crypto';
import { checkUrl, generateSecret } from '@hookpost/sender';
import { writeThrough } from '@hookpost/subscriptions';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { type ApiDeps, commit, type RouteContext } from './deps.ts';
import { filterErrors } from './filter-input.ts';
import type { WebhookCircuit } from './history-store.ts';
import { INVALID, pageOf, pagination } from './http-support.ts';
import * as s from './schemas.ts';
import {
  checkInput,
  createWebhook,
  type FieldErrors,
  present,
  updateWebhook,
  type WebhookInput,
} from './webhook-doc.ts';

const TAG = ['webhooks'];

/** MailerSend-like ids: 16 lowercase base-36 characters. */
function newWebhookId(): string {
  const bytes = randomBytes(16);
  return Array.from(bytes, (b) => (b % 36).toString(36)).join('');
}

function semanticErrors(deps: ApiDeps, input: WebhookInput): FieldErrors {
  const errors = { ...checkInput(input), ...filterErrors(input.filter) };
  if (input.url !== undefined) {
    const checked = checkUrl(input.url, deps.allow);
    if (!checked.ok) errors.url = [...(errors.url ?? []), checked.reason];
  }
  return errors;
}

/** The circuit as the API shows it: times as ISO strings. */
function presentCircuit(c: WebhookCircuit) {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return { state: c.state, failures: c.failures, probe_at: iso(c.probe_at), as_of: iso(c.as_of) };
}

const invalid = (reply: FastifyReply, errors: FieldErrors) =>
  reply.code(422).send({ message: INVALID, errors });

export function registerWebhookRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;

  app.get<{ Querystring: { domain_id: string; page?: string; limit?: string } }>(
    '/v1/webhooks',
    {
      schema: {
        tags: TAG,
        summary: 'List the webhooks of a domain',
        querystring: s.listQuery,
        response: s.responses({
          200: {
            type: 'object',
            properties: { data: { type: 'array', items: s.webhookObject }, links: s.links, meta: s.meta },
          },
        }),
      },
    },
    async (request) => {
      const p = pageOf(request.query);
      const domain = request.query.domain_id;
      // A domain outside the token's scope looks exactly like a domain without webhooks.
      const all = request.principal?.canSee(domain)
        ? deps.table
            .all()
            .filter((w) => w.domain_id === domain)
            .sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id))
        : [];
      const now = deps.now();
      return {
        data: all.slice(p.offset, p.offset + p.limit).map((w) => present(w, now)),
        ...pagination(request, p, all.length),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/webhooks/:id',
    {
      schema: {
        tags: TAG,
        summary: 'Get a webhook',
        params: s.idParams,
        response: s.responses({ 200: s.data(s.webhookObject) }),
      },
    },
    async (request, reply) => {
      const w = ctx.visible(request, reply, request.params.id);
      if (!w) return reply;
      const now = deps.now();
      return { data: { ...present(w, now), circuit: presentCircuit(deps.history.circuit(w.id, now)) } };
    },
  );

  app.post<{ Body: WebhookInput }>(
    '/v1/webhooks',
    {
      config: { write: true },
      schema: {
        tags: TAG,
        summary: 'Create a webhook; the response carries its signing secret',
        body: s.createBody,
        response: s.responses({ 201: s.data(s.webhookObject) }),
      },
    },
    async (request, reply) => {
      const input = request.body;
      const errors = semanticErrors(deps, input);
      if (input.domain_id && !request.principal?.canSee(input.domain_id))
        errors.domain_id = ['The selected domain id is invalid.'];
      if (Object.keys(errors).length > 0) return invalid(reply, errors);
      const now = deps.now();
      const webhook = createWebhook(input, { id: newWebhookId(), secret: generateSecret() }, now);
      const stored = await commit(deps, webhook);
      request.log.info({ webhookId: webhook.id, domainId: webhook.domain_id }, 'webhook created');
      return reply.code(201).send({ data: present(stored, now) });
    },
  );

  app.put<{ Params: { id: string }; Body: WebhookInput }>(
    '/v1/webhooks/:id',
    {
      config: { write: true },
      schema: {
        tags: TAG,
        summary: 'Update a webhook (only the fields sent change)',
        params: s.idParams,
        body: s.updateBody,
        response: s.responses({ 200: s.data(s.webhookObject) }),
      },
    },
    async (request, reply) => {
      const errors = semanticErrors(deps, request.body);
      return ctx.locked(request, reply, request.params.id, async (current) => {
        if (Object.keys(errors).length > 0) return invalid(reply, errors);
        const now = deps.now();
        const stored = await commit(deps, updateWebhook(current, request.body, now));
        request.log.info({ webhookId: current.id, version: stored.version }, 'webhook updated');
        return { data: present(stored, now) };
      });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/webhooks/:id',
    {
      config: { write: true },
      schema: {
        tags: TAG,
        summary: 'Delete a webhook',
        params: s.idParams,
        response: s.responses({ 204: { type: 'null', description: 'Deleted.' } }),
      },
    },
    async (request, reply) =>
      ctx.locked(request, reply, request.params.id, async (current) => {
        await writeThrough(deps, (w) => w.remove(current.id));
        request.log.info({ webhookId: current.id }, 'webhook deleted');
        return reply.code(204).send();
      }),
  );
}
