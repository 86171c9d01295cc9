/** Actions on one webhook: rotate its secret, send a test, resume it, resend from the DLQ, its history. */
import { randomUUID } from 'node:crypto';
import { resumeWebhook } from '@hookpost/deadletters';
import type { EventType } from '@hookpost/events';
import { generateSecret } from '@hookpost/sender';
import type { FastifyInstance } from 'fastify';
import { commit, type RouteContext } from './deps.ts';
import { presentAttempt, type StatusClass } from './history-store.ts';
import { pageOf, pagination } from './http-support.ts';
import { presentReport, type ResendBody, resumeDeps, runReplay, SUSPENDED_MESSAGE } from './replay-jobs.ts';
import { renderBody, samplePayload } from './sample.ts';
import * as s from './schemas.ts';
import { present, rotateSecret } from './webhook-doc.ts';

const TAG = ['webhooks'];

export function registerActionRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;

  app.post<{ Params: { id: string } }>(
    '/v1/webhooks/:id/secret/rotate',
    {
      config: { write: true },
      schema: {
        tags: TAG,
        summary:
          'Rotate the signing secret; the old one keeps signing beside the new one for the grace period',
        params: s.idParams,
        response: s.responses({ 200: s.data(s.webhookObject) }),
      },
    },
    async (request, reply) =>
      ctx.locked(request, reply, request.params.id, async (current) => {
        const now = deps.now();
        const stored = await commit(deps, rotateSecret(current, generateSecret(), now, deps.secretGraceMs));
        request.log.info({ webhookId: current.id, graceMs: deps.secretGraceMs }, 'signing secret rotated');
        return { data: present(stored, now) };
      }),
  );

  app.post<{ Params: { id: string }; Body: { event_type?: EventType } }>(
    '/v1/webhooks/:id/test',
    {
      config: { write: true },
      schema: {
        tags: TAG,
        summary: 'Send a signed sample batch straight to the endpoint and report what it answered',
        params: s.idParams,
        body: s.testBody,
        response: s.responses({ 200: s.data(s.testResult) }),
      },
    },
    async (request, reply) => {
      const w = ctx.visible(request, reply, request.params.id);
      if (!w) return reply;
      const type = request.body.event_type ?? w.events[0] ?? 'activity.sent';
      const now = deps.now();
      const batchId = `test_${randomUUID()}`;
      const body = renderBody(w.format, [samplePayload(type, w, now)]);
      const outcome = await deps.sender.send({
        webhook: w,
        batch: { batch_id: batchId, body, format: w.format },
        attempt: 1,
        now,
      });
      request.log.info(
        {
          webhookId: w.id,
          batchId,
          status: outcome.status,
          kind: outcome.kind,
          latencyMs: outcome.latencyMs,
        },
        'test send',
      );
      return {
        data: {
          batch_id: batchId,
          event_type: type,
          delivered: outcome.kind === 'delivered',
          kind: outcome.kind,
          status: outcome.status,
          latency_ms: outcome.latencyMs,
          error: outcome.error,
          response_excerpt: outcome.responseExcerpt,
        },
      };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/webhooks/:id/resume',
    {
      config: { write: true },
      schema: {
        tags: TAG,
        summary: 'Reactivate a suspended webhook (and notify the owner); an active webhook is left as it is',
        params: s.idParams,
        response: s.responses({ 200: s.data(s.webhookObject) }),
      },
    },
    async (request, reply) =>
      ctx.locked(request, reply, request.params.id, async (current) => {
        const result = await resumeWebhook(resumeDeps(deps), current.id, `api:${request.principal?.name}`);
        if (!result.ok) return reply.code(404).send({ message: 'Resource not found.' });
        if (result.changed) request.log.info({ webhookId: current.id }, 'webhook resumed');
        return { data: present(result.webhook, deps.now()) };
      }),
  );

  app.post<{ Params: { id: string }; Body: ResendBody }>(
    '/v1/webhooks/:id/resend',
    {
      config: { write: true },
      schema: {
        tags: TAG,
        summary:
          'Re-deliver what the dead-letter queue holds for the webhook in a time range (each record once)',
        params: s.idParams,
        body: s.resendBody,
        response: s.responses({ 200: s.data(s.resendResult), 409: s.errorBody }),
      },
    },
    async (request, reply) => {
      const w = ctx.visible(request, reply, request.params.id);
      if (!w) return reply;
      const result = await runReplay(deps, w, request.body, `api:${request.principal?.name}`);
      if (!result.ok) return reply.code(409).send({ message: SUSPENDED_MESSAGE });
      const r = result.report;
      request.log.info({ webhookId: w.id, replayed: r.replayed, dryRun: r.dryRun }, 'resend from the DLQ');
      return { data: presentReport(r) };
    },
  );

  app.get<{
    Params: { id: string };
    Querystring: {
      status?: StatusClass;
      date_from?: string;
      date_to?: string;
      page?: string;
      limit?: string;
    };
  }>(
    '/v1/webhooks/:id/attempts',
    {
      schema: {
        tags: TAG,
        summary: 'Delivery attempts of the last 7 days, newest first',
        params: s.idParams,
        querystring: s.attemptsQuery,
        response: s.responses({
          200: {
            type: 'object',
            properties: { data: { type: 'array', items: s.attemptObject }, links: s.links, meta: s.meta },
          },
        }),
      },
    },
    async (request, reply) => {
      const w = ctx.visible(request, reply, request.params.id);
      if (!w) return reply;
      const q = request.query;
      const p = pageOf(q);
      const oldest = deps.now() - deps.historyMs;
      const from = Math.max(oldest, q.date_from !== undefined ? Number(q.date_from) * 1000 : oldest);
      const { rows, total } = deps.history.query({
        webhookId: w.id,
        statusClass: q.status,
        from,
        to: q.date_to !== undefined ? Number(q.date_to) * 1000 : undefined,
        limit: p.limit,
        offset: p.offset,
      });
      return {
        data: rows.map(presentAttempt),
        ...pagination(request, p, total),
      };
    },
  );
}
