/**
 * Read-only figures behind the console: a webhook's 24 h delivery stats (from the history store), its
 * dead letters by reason (from the API's dead-letter index), and the operators' overview
 * (consumer-group lag per stage, delivery success, suspended webhooks, DLQ growth). The overview spans
 * every domain, so only a token whose domains are `*` may read it.
 */
import { OffsetsClient } from '@hookpost/kafka';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps, RouteContext } from './deps.ts';
import { presentAttempt } from './history-store.ts';
import * as s from './schemas.ts';
import { deadLetterSummary, deadLettersQuery, overviewObject, statsObject } from './schemas-insights.ts';

const TAG = ['webhooks'];
const HOUR = 60 * 60 * 1000;
const WINDOW_HOURS = 24;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The consumer groups of the pipeline's stages (the services' default group names) and what they
 * read. Two groups read email.events in turn, never together (each service refuses to start while the
 * other's group has members): the batcher's (BATCHER_INPUT=events, the default) and, in the two-stage
 * deployment, the fan-out's. activeStages keeps the one in use.
 */
function stageGroups(prefix: string, topics: ApiDeps['topics']) {
  return [
    { stage: 'batcher', group: `${prefix}hookpost-batcher.events`, topic: topics.events },
    { stage: 'fanout', group: `${prefix}hookpost-fanout`, topic: topics.events },
    { stage: 'batcher', group: `${prefix}hookpost-batcher`, topic: topics.dispatch },
    { stage: 'delivery', group: `${prefix}hookpost-delivery`, topic: topics.batches },
  ];
}

async function stageLag(deps: ApiDeps) {
  const offsets = new OffsetsClient(deps.kafka);
  await offsets.connect();
  try {
    return activeStages(await lagOfStages(stageGroups(deps.topicPrefix, deps.topics), offsets), [
      `${deps.topicPrefix}hookpost-batcher.events`,
      `${deps.topicPrefix}hookpost-fanout`,
    ]);
  } finally {
    await offsets.disconnect();
  }
}

type StageGroup = ReturnType<typeof stageGroups>[number];
type StageLag = StageGroup & { lag: number | null; note: string | null };

/**
 * Of groups that read one topic in turn (`inTurn`, the default first), the one that ran last:
 * committed offsets only move forward, so it is the one with the smallest lag. The first when none has
 * committed anything (a new deployment, or the topic missing).
 */
export function activeStages(stages: StageLag[], inTurn: string[]): StageLag[] {
  const readers = inTurn.flatMap((g) => stages.filter((s) => s.group === g));
  if (readers.length < 2) return stages;
  const withLag = readers.filter((s) => s.lag !== null);
  const keep = withLag.length === 0 ? readers[0] : withLag.reduce((a, b) => (b.lag! < a.lag! ? b : a));
  return stages.filter((s) => s === keep || !readers.includes(s));
}

/**
 * Each stage's lag, or why there is none. One metadata request says which topics exist: asking a
 * missing topic's offsets is retried by the client for seconds (it made the overview take 6 s where a
 * stage's topic was not created yet). A lag that cannot be read for another reason says so, with the
 * error's first line, rather than claiming the topic is missing.
 */
export async function lagOfStages(
  groups: StageGroup[],
  offsets: Pick<OffsetsClient, 'topics' | 'groupLag'>,
): Promise<StageLag[]> {
  const existing = new Set(await offsets.topics());
  return Promise.all(
    groups.map(async (g) => {
      if (!existing.has(g.topic)) return { ...g, lag: null, note: 'topic not found' };
      let lag: number | null;
      try {
        lag = await offsets.groupLag(g.group, g.topic);
      } catch (error) {
        const reason = String((error as Error)?.message ?? error)
          .split('\n')[0]!
          .slice(0, 200);
        return { ...g, lag: null, note: `lag unavailable: ${reason}` };
      }
      if (lag === null) return { ...g, lag: null, note: 'no committed offsets (stage not running yet?)' };
      return { ...g, lag, note: null };
    }),
  );
}

/** The DLQ by age and reason, from the index (every record counted once, as it arrives). */
async function deadLetterGrowth(deps: ApiDeps, now: number) {
  await deps.deadLetters.caughtUp();
  const book = deps.deadLetters.book;
  const by_reason = Object.fromEntries(book.byReason);
  if (book.unreadableCount > 0) by_reason.unreadable = book.unreadableCount;
  return {
    total: book.total + book.unreadableCount,
    last_hour: book.since(now - HOUR, now),
    last_24h: book.since(now - WINDOW_HOURS * HOUR, now),
    by_reason,
  };
}

const rate = (delivered: number, attempts: number) =>
  attempts === 0 ? null : Math.round((delivered / attempts) * 10_000) / 10_000;

export function registerInsightRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;

  app.get<{ Params: { id: string } }>(
    '/v1/webhooks/:id/stats',
    {
      schema: {
        tags: TAG,
        summary: 'Delivery figures of the last 24 hours: attempts, success rate, p95 latency, last attempt',
        params: s.idParams,
        response: s.responses({ 200: s.data(statsObject) }),
      },
    },
    async (request, reply) => {
      const w = ctx.visible(request, reply, request.params.id);
      if (!w) return reply;
      const st = deps.history.stats(deps.now() - WINDOW_HOURS * HOUR, w.id);
      return {
        data: {
          window_hours: WINDOW_HOURS,
          attempts: st.attempts,
          delivered: st.delivered,
          success_rate: rate(st.delivered, st.attempts),
          p95_latency_ms: st.p95LatencyMs,
          last_attempt: st.last ? presentAttempt(st.last) : null,
        },
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: string } }>(
    '/v1/webhooks/:id/dead-letters',
    {
      schema: {
        tags: TAG,
        summary: 'What the dead-letter queue holds for the webhook: counts by reason and the newest records',
        params: s.idParams,
        querystring: deadLettersQuery,
        response: s.responses({ 200: s.data(deadLetterSummary) }),
      },
    },
    async (request, reply) => {
      const w = ctx.visible(request, reply, request.params.id);
      if (!w) return reply;
      await deps.deadLetters.caughtUp();
      const d = deps.deadLetters.book.webhook(w.id, Number(request.query.limit ?? 100));
      return {
        data: {
          total: d.total,
          unreadable: deps.deadLetters.book.unreadableCount,
          by_reason: d.byReason.map((r) => ({
            reason: r.reason,
            count: r.count,
            events: r.events,
            oldest_at: iso(r.oldest),
            newest_at: iso(r.newest),
          })),
          letters: d.letters.map((l) => ({
            dlq_id: l.dlq_id,
            reason: l.reason,
            dead_at: iso(l.dead_at),
            events: l.events,
            attempts: l.attempts,
            batch_id: l.batch_id,
            error: l.error,
            replayed_at: l.replayed_at === null ? null : iso(l.replayed_at),
          })),
        },
      };
    },
  );

  app.get(
    '/v1/overview',
    {
      schema: {
        tags: ['operations'],
        summary:
          'Operators only (a token for every domain): stage lag, 24 h delivery success, suspended webhooks, DLQ growth',
        response: s.responses({
          200: s.data(overviewObject),
          403: {
            ...s.errorBody,
            description: 'The token is scoped to some domains; the overview spans all.',
          },
        }),
      },
    },
    async (request, reply) => {
      if (!request.principal?.allDomains)
        return reply
          .code(403)
          .send({ message: 'The overview spans every domain: it needs a token for "*".' });
      const now = deps.now();
      const [stages, deadLetters] = await Promise.all([stageLag(deps), deadLetterGrowth(deps, now)]);
      const st = deps.history.stats(now - WINDOW_HOURS * HOUR);
      const all = deps.table.all();
      const suspended = all
        .filter((w) => w.status === 'suspended')
        .map((w) => ({ w, since: w.status_changed_at ?? w.updated_at }))
        .sort((a, b) => b.since - a.since)
        .map(({ w, since }) => ({
          id: w.id,
          name: w.name,
          domain_id: w.domain_id,
          reason: w.status_reason,
          since: iso(since),
          since_recorded: w.status_changed_at !== undefined,
        }));
      return {
        data: {
          window_hours: WINDOW_HOURS,
          delivery: {
            attempts: st.attempts,
            delivered: st.delivered,
            success_rate: rate(st.delivered, st.attempts),
            p95_latency_ms: st.p95LatencyMs,
          },
          stages,
          webhooks: { total: all.length, suspended: suspended.length },
          suspended,
          dead_letters: deadLetters,
          grafana_url: deps.grafanaUrl || null,
        },
      };
    },
  );
}
