/**
 * What content filters cost the fan-out: the fan-out's own step (`fanOut` of services/fanout: match,
 * render once per event, filter, one dispatch record per webhook) over the same events with 1 000
 * webhooks (100 domains, 10 each), in three modes measured in the same run, interleaved:
 *   off    no webhook has a filter;
 *   match  half have a filter that every event matches (same output as off: the evaluation cost alone);
 *   real   half have a selective filter (tags, recipient domain, template id, $or/$not), so fewer records.
 * Decoding is left out (the events are decoded once, up front): it costs the same in every mode, and
 * leaving it out makes the filters' share look larger, not smaller. CPU time (process.cpuUsage), so the
 * other processes of a shared machine do not count. Run: `bash scripts/hp node bench/filters.ts [events]`.
 */
import type { Webhook, WebhookFilter } from '@hookpost/contracts';
import type { EmailEvent } from '@hookpost/events';
import { fanOut } from '@hookpost/fanout';
import type { KafkaRecord } from '@hookpost/kafka';
import { eventGenerator } from '@hookpost/loadgen';

const EVENTS = Number(process.argv[2] ?? 20_000);
const ROUNDS = 7;
const WEBHOOKS = 1000;
const DOMAINS = 100;
const TYPES = ['activity.sent', 'activity.delivered', 'activity.opened', 'activity.clicked'] as const;

const gen = eventGenerator({
  domains: DOMAINS,
  seed: 7,
  mix: Object.fromEntries(TYPES.map((t) => [t, 1])),
  domainId: (d) => `dom-${d}`,
});
const events: EmailEvent[] = Array.from({ length: EVENTS }, () => gen());

const selective: WebhookFilter[] = [
  { data: { email: { tags: 'transactional' } } },
  { data: { email: { recipient: { email: { $endsWith: '@example.com' } } } } },
  { data: { template_id: { $in: ['tpl-1', 'tpl-2', 'tpl-3', 'tpl-5', 'tpl-8', 'tpl-13'] } } },
  {
    $or: [{ data: { email: { tags: { $in: ['transactional', 'vip'] } } } }, { type: 'activity.clicked' }],
    $not: { data: { email: { subject: { $startsWith: 'Test' } } } },
  },
];
/** As deep as the selective ones, but true for every event the bench produces. */
const always: WebhookFilter[] = [
  { data: { email: { tags: { $nin: ['never-a-tag'] } } } },
  { data: { email: { recipient: { email: { $exists: true } } } } },
  { data: { template_id: { $neq: 'tpl-none' } } },
  { $or: [{ domain_id: { $startsWith: 'dom-' } }, { type: 'activity.clicked' }], $not: { type: 'x' } },
];

function webhooks(filters: WebhookFilter[] | null): Map<string, Webhook[]> {
  const byDomain = new Map<string, Webhook[]>();
  for (let i = 0; i < WEBHOOKS; i += 1) {
    const domain = `dom-${i % DOMAINS}`;
    // Structured clones: every webhook's filter is its own object, compiled once (as the table gives them).
    const filter = filters && i % 2 === 1 ? structuredClone(filters[i % filters.length]!) : undefined;
    const w = {
      id: `wh-${i}`,
      domain_id: domain,
      url: `https://example.com/hooks/${i}`,
      events: [...TYPES],
      enabled: true,
      status: 'active',
      filter,
    } as unknown as Webhook;
    byDomain.set(domain, [...(byDomain.get(domain) ?? []), w]);
  }
  return byDomain;
}

const all = { off: webhooks(null), match: webhooks(always), real: webhooks(selective) };
// BENCH_MODES=match,off runs those only, in that order (to check the order does not matter).
const modes = Object.fromEntries(
  (process.env.BENCH_MODES ?? 'off,match,real').split(',').map((m) => [m, all[m as keyof typeof all]]),
);
const message = { offset: '0', key: null, value: Buffer.alloc(0), headers: {} } as unknown as KafkaRecord;

async function run(table: Map<string, Webhook[]>) {
  let i = 0;
  const deps = {
    decode: async () => ({ ok: true as const, value: events[i]!, schemaId: 1 }),
    match: (domain: string) => table.get(domain) ?? [],
    topics: { dispatch: 'dispatch', dlq: 'dlq' },
    now: () => 0,
  };
  let records = 0;
  let filtered = 0;
  const cpu = process.cpuUsage();
  const wall = performance.now();
  for (i = 0; i < events.length; i += 1) {
    const out = await fanOut({ topic: 'events', partition: 0 }, message, deps);
    records += out.records.length;
    if (out.kind === 'matched') filtered += out.filtered;
  }
  const used = process.cpuUsage(cpu);
  return {
    cpuUsPerEvent: (used.user + used.system) / events.length,
    wallUsPerEvent: ((performance.now() - wall) * 1000) / events.length,
    recordsPerEvent: records / events.length,
    filteredPerEvent: filtered / events.length,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results: Record<string, Awaited<ReturnType<typeof run>>[]> = Object.fromEntries(
  Object.keys(modes).map((m) => [m, []]),
);
// One warm-up round, then interleaved rounds so drift in the machine's load hits every mode alike.
for (let round = 0; round <= ROUNDS; round += 1) {
  for (const [name, table] of Object.entries(modes)) {
    const r = await run(table);
    if (round > 0) results[name]!.push(r);
  }
}
const summary = Object.fromEntries(
  Object.entries(results).map(([name, rs]) => [
    name,
    {
      cpuUsPerEvent: Number(median(rs.map((r) => r.cpuUsPerEvent)).toFixed(2)),
      wallUsPerEvent: Number(median(rs.map((r) => r.wallUsPerEvent)).toFixed(2)),
      recordsPerEvent: Number(rs[0]!.recordsPerEvent.toFixed(3)),
      filteredPerEvent: Number(rs[0]!.filteredPerEvent.toFixed(3)),
    },
  ]),
);
const ratio = (a: string, b: string) =>
  summary[a] === undefined || summary[b] === undefined
    ? null
    : Number((summary[a]!.cpuUsPerEvent / summary[b]!.cpuUsPerEvent).toFixed(3));
console.log(
  JSON.stringify(
    {
      at: new Date().toISOString(),
      events: EVENTS,
      rounds: ROUNDS,
      webhooks: WEBHOOKS,
      withFilter: WEBHOOKS / 2,
      ...summary,
      ratio: { matchOverOff: ratio('match', 'off'), realOverOff: ratio('real', 'off') },
    },
    null,
    2,
  ),
);
