/**
 * Replays from the DLQ, run by the API. POST /resend answers when the replay is over (the CLI's and
 * scripts' route); POST /replays starts the same replay as a job and answers 202 at once, and
 * GET /replays/{job} reads its progress (selected, sent, skipped) and, once done, its summary: the
 * console polls it to show a replay of thousands of dead letters moving. Jobs live in this API
 * instance's memory, at most `MAX_JOBS` of them (the oldest finished is forgotten first), and are read
 * through their webhook, so a token sees a job only where it sees the webhook.
 */
import { randomUUID } from 'node:crypto';
import type { DeadLetterReason, Webhook } from '@hookpost/contracts';
import { type ReplayReport, type ReplayResult, replay, resumeWebhook } from '@hookpost/deadletters';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps, RouteContext } from './deps.ts';
import * as s from './schemas.ts';
import { replayJobObject, replayJobParams } from './schemas-insights.ts';

const MAX_JOBS = 100;
const TAG = ['webhooks'];

export interface ResendBody {
  date_from?: number;
  date_to?: number;
  reasons?: DeadLetterReason[];
  dry_run?: boolean;
  resume?: boolean;
  force?: boolean;
  rate_per_sec?: number;
}

export function resumeDeps(deps: ApiDeps) {
  return {
    writer: deps.writer,
    table: deps.table,
    notices: deps.notices,
    operationalTopic: deps.topics.operational,
    now: deps.now,
  };
}

export const SUSPENDED_MESSAGE = 'The webhook is suspended: resume it first, or send "resume": true.';

/** Runs the replay of `w`'s dead letters that `b` selects (the /resend and /replays routes). */
export function runReplay(
  deps: ApiDeps,
  w: Webhook,
  b: ResendBody,
  by: string,
  hooks: Pick<Parameters<typeof replay>[0], 'onPlan' | 'onProgress' | 'signal'> = {},
): Promise<ReplayResult> {
  return replay({
    kafka: deps.kafka,
    topics: deps.topics,
    groupPrefix: deps.groupPrefix,
    skipper: deps.skipper,
    filter: {
      webhookId: w.id,
      reasons: b.reasons,
      from: b.date_from !== undefined ? b.date_from * 1000 : undefined,
      to: b.date_to !== undefined ? b.date_to * 1000 : undefined,
    },
    lookup: (id) => deps.table.get(id),
    resume: b.resume
      ? async (id) => {
          await resumeWebhook(resumeDeps(deps), id, by);
        }
      : undefined,
    dryRun: b.dry_run ?? false,
    force: b.force ?? false,
    ratePerSec: b.rate_per_sec,
    by,
    now: deps.now,
    ...hooks,
  });
}

/** The API's summary of a replay (the /resend answer, a finished job's `summary`). */
export function presentReport(r: ReplayReport) {
  return {
    dry_run: r.dryRun,
    matched: r.matched,
    replayed: r.replayed,
    events: r.events,
    skipped: r.skipped,
    resumed: r.resumed,
    // What was (or, in a dry run, would be) sent, dead letter by dead letter.
    items: r.items.slice(0, 500).map((i) => ({
      dlq_id: i.dlq_id,
      reason: i.reason,
      dead_at: new Date(i.dead_at).toISOString(),
      events: i.events,
      outcome: i.outcome,
    })),
  };
}

type State = 'reading' | 'sending' | 'done' | 'failed';

interface Job {
  id: string;
  webhookId: string;
  state: State;
  selected: number | null;
  sent: number;
  skipped: number | null;
  startedAt: number;
  finishedAt: number | null;
  summary: ReturnType<typeof presentReport> | null;
  error: string | null;
}

const skippedOf = (r: ReplayReport) => Object.values(r.skipped).reduce((a, n) => a + n, 0);

/** The jobs of one API instance, bounded: starting one past the bound forgets the oldest finished. */
export class ReplayJobs {
  private readonly jobs = new Map<string, Job>();
  private readonly max: number;
  /** Aborted when the app closes: a running replay stops after its current chunk (each is atomic). */
  readonly stopping = new AbortController();

  constructor(max = MAX_JOBS) {
    this.max = max;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  running(webhookId: string): Job | undefined {
    for (const j of this.jobs.values())
      if (j.webhookId === webhookId && (j.state === 'reading' || j.state === 'sending')) return j;
    return undefined;
  }

  /** A new job, or null when the bound is reached by jobs that are all still running. */
  add(webhookId: string, now: number): Job | null {
    if (this.jobs.size >= this.max) {
      const oldest = [...this.jobs.values()].find((j) => j.finishedAt !== null);
      if (!oldest) return null;
      this.jobs.delete(oldest.id);
    }
    const job: Job = {
      id: randomUUID(),
      webhookId,
      state: 'reading',
      selected: null,
      sent: 0,
      skipped: null,
      startedAt: now,
      finishedAt: null,
      summary: null,
      error: null,
    };
    this.jobs.set(job.id, job);
    return job;
  }

  get size(): number {
    return this.jobs.size;
  }
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function presentJob(j: Job) {
  return {
    id: j.id,
    webhook_id: j.webhookId,
    state: j.state,
    done: j.state === 'done' || j.state === 'failed',
    selected: j.selected,
    sent: j.sent,
    skipped: j.skipped,
    started_at: iso(j.startedAt),
    finished_at: iso(j.finishedAt),
    summary: j.summary,
    error: j.error,
  };
}

export function registerReplayRoutes(app: FastifyInstance, ctx: RouteContext, jobs: ReplayJobs): void {
  const { deps } = ctx;

  app.post<{ Params: { id: string }; Body: ResendBody }>(
    '/v1/webhooks/:id/replays',
    {
      config: { write: true },
      schema: {
        tags: TAG,
        summary:
          'Start a resend from the dead-letter queue as a job (the body of /resend); read its progress at the URL answered',
        params: s.idParams,
        body: s.resendBody,
        response: s.responses({
          202: s.data(replayJobObject),
          409: { ...s.errorBody, description: 'The webhook is suspended, or a replay of it is running.' },
          429: { ...s.errorBody, description: 'Too many replays running on this API instance.' },
        }),
      },
    },
    async (request, reply) => {
      const w = ctx.visible(request, reply, request.params.id);
      if (!w) return reply;
      const b = request.body;
      if (w.status === 'suspended' && !b.resume && !b.dry_run)
        return reply.code(409).send({ message: SUSPENDED_MESSAGE });
      if (jobs.running(w.id))
        return reply.code(409).send({ message: 'A replay of this webhook is running; wait for it.' });
      const job = jobs.add(w.id, deps.now());
      if (!job)
        return reply.code(429).send({ message: `${MAX_JOBS} replays are running; retry when one is done.` });
      const by = `api:${request.principal?.name}`;
      const log = request.log;
      void runReplay(deps, w, b, by, {
        signal: jobs.stopping.signal,
        onPlan: (r) => {
          job.state = 'sending';
          job.selected = r.replayed;
          job.skipped = skippedOf(r);
        },
        onProgress: (p) => {
          job.sent = p.replayed;
        },
      })
        .then((result) => {
          if (!result.ok) {
            job.error = SUSPENDED_MESSAGE;
            job.state = 'failed';
          } else if (jobs.stopping.signal.aborted) {
            job.error = 'The API stopped during the replay; what was sent stays sent, run it again.';
            job.sent = result.report.replayed;
            job.state = 'failed';
          } else {
            job.summary = presentReport(result.report);
            job.selected ??= result.report.replayed;
            job.skipped ??= skippedOf(result.report);
            job.sent = result.report.dryRun ? 0 : result.report.replayed;
            job.state = 'done';
          }
          log.info({ webhookId: w.id, job: job.id, state: job.state, sent: job.sent }, 'replay job over');
        })
        .catch((error: Error) => {
          job.error = 'The replay stopped on an error; what was sent stays sent, run it again.';
          job.state = 'failed';
          log.error({ err: error, webhookId: w.id, job: job.id }, 'replay job failed');
        })
        .finally(() => {
          job.finishedAt = deps.now();
        });
      reply.header('Location', `/v1/webhooks/${encodeURIComponent(w.id)}/replays/${job.id}`);
      return reply.code(202).send({ data: presentJob(job) });
    },
  );

  app.get<{ Params: { id: string; job: string } }>(
    '/v1/webhooks/:id/replays/:job',
    {
      schema: {
        tags: TAG,
        summary: 'Progress of a replay job: selected, sent, skipped; its summary once done',
        params: replayJobParams,
        response: s.responses({ 200: s.data(replayJobObject) }),
      },
    },
    async (request, reply) => {
      const w = ctx.visible(request, reply, request.params.id);
      if (!w) return reply;
      const job = jobs.get(request.params.job);
      if (!job || job.webhookId !== w.id) return reply.code(404).send({ message: 'Resource not found.' });
      return { data: presentJob(job) };
    },
  );
}
