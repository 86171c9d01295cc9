/**
 * Content filters in the real fan-out process against the real broker and registry: events a webhook's
 * filter matches reach the dispatch topic for it, the others do not, and an update of the filter changes
 * which ones do. One partition, so a sentinel for an unfiltered witness, dispatched last, proves every
 * event before it has been judged.
 */
import { type EventDispatchRecord, SecretBox, type Webhook } from '@hookpost/contracts';
import type { EmailEvent } from '@hookpost/events';
import { provisionTopics } from '@hookpost/kafka';
import { describe, expect } from 'vitest';
import { uniq, waitFor } from '../support/env.ts';
import { integrationTest } from '../support/fixtures.ts';
import { dispatchPairs, mta, type Tail } from '../support/pipeline.ts';
import { metricsText, metricValue, type RunningProcess } from '../support/services.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';

const it = integrationTest({ partitions: 1 });
let subs: Awaited<ReturnType<typeof subscriptions>>;
let events: Awaited<ReturnType<typeof mta>>;
let fanout: RunningProcess;
let dispatch: Tail<EventDispatchRecord>;
const domain = uniq('dom');
const boxSpec = SecretBox.generateSpec();
const witness = makeWebhook({ domain_id: domain, events: ['activity.opened'] });
const byTag = makeWebhook({
  domain_id: domain,
  events: ['activity.opened'],
  filter: { data: { email: { tags: 'vip' } } },
});
const byRecipient = makeWebhook({
  domain_id: domain,
  events: ['activity.opened'],
  filter: {
    $or: [
      { data: { email: { recipient: { email: { $endsWith: '@match.example' } } } } },
      { data: { template_id: { $in: ['tpl-match'] } } },
    ],
  },
});

// The fixtures close all of these; the file's helpers reach them through these names.
it.beforeAll(async ({ env, owned, spawn, tailOf }) => {
  const t = env.catalog.topics;
  await provisionTopics(env.admin, [t.events, t.subscriptions, t.dispatch, t.dlq]);
  subs = await subscriptions(env, new SecretBox(boxSpec));
  owned.own(subs.writer, (w) => w.close());
  // Written before the fan-out starts: its table has them once it is ready.
  for (const w of [witness, byTag, byRecipient]) await subs.writer.put(w);
  events = await mta(env);
  owned.own(events.producer, (p) => p.close());
  fanout = spawn('fanout', {
    TOPIC_PREFIX: env.prefix,
    TOPIC_PARTITIONS: '1',
    KAFKA_BROKERS: env.brokers,
    SCHEMA_REGISTRY_URL: env.registryUrl,
    SUBSCRIPTION_ENCRYPTION_KEYS: boxSpec,
  });
  await fanout.ready();
  dispatch = await tailOf<EventDispatchRecord>(t.dispatch.name);
});

/** An opened event of the domain with the given tags, recipient and template. */
function opened(tags: string[] | null, recipient?: string, template?: string): EmailEvent {
  const e = events.make(domain, 'activity.opened');
  const email = e.email!;
  return {
    ...e,
    email: {
      ...email,
      tags,
      template_id: template ?? 'tpl-other',
      recipient: { ...email.recipient, email: recipient ?? email.recipient.email },
    },
  };
}

/** Sends the events and a sentinel; once the sentinel is dispatched, the webhooks each event reached. */
async function reached(list: EmailEvent[]): Promise<Map<string, string[]>> {
  const sentinel = opened(null);
  await events.producer.send([...list, sentinel]);
  await waitFor(() => dispatchPairs(dispatch.records).some((r) => r.value.event_id === sentinel.id), {
    what: 'sentinel',
  });
  const out = new Map<string, string[]>();
  for (const e of list) {
    const ids = dispatchPairs(dispatch.records)
      .filter((r) => r.value.event_id === e.id)
      .map((r) => r.value.webhook_id);
    out.set(e.id, ids.filter((id) => id !== witness.id).sort());
  }
  return out;
}

const filtered = async () => metricValue(await metricsText(fanout), 'webhooks_fanout_filtered_total');

describe('content filters in the fan-out', () => {
  it('dispatches an event only to the webhooks whose filter matches it', async () => {
    const vip = opened(['vip', 'eu']);
    const plain = opened(['other']);
    const none = opened(null);
    const recipient = opened(null, 'ann@match.example');
    const template = opened(['vip'], undefined, 'tpl-match');
    const before = await filtered();
    const got = await reached([vip, plain, none, recipient, template]);
    const sorted = (...ws: Webhook[]) => ws.map((w) => w.id).sort();
    expect(got.get(vip.id)).toEqual(sorted(byTag));
    expect(got.get(plain.id)).toEqual([]);
    expect(got.get(none.id)).toEqual([]);
    expect(got.get(recipient.id)).toEqual(sorted(byRecipient));
    expect(got.get(template.id)).toEqual(sorted(byTag, byRecipient));
    // vip, plain, none, recipient miss one or both of the two filters; the sentinel misses both.
    expect((await filtered()) - before).toBe(1 + 2 + 2 + 1 + 0 + 2);
  });

  it('an update of the filter changes what the webhook receives', async () => {
    await subs.writer.put({
      ...byTag,
      filter: { data: { email: { tags: { $in: ['other'] } } } },
      version: 2,
    });
    // The running table applies the change within a fetch wait: probe until an "other" event reaches it.
    await waitFor(
      async () => {
        const probe = opened(['other']);
        return (await reached([probe])).get(probe.id)?.includes(byTag.id) ?? false;
      },
      { what: 'updated filter applied' },
    );
    const vip = opened(['vip']);
    const other = opened(['other']);
    const got = await reached([vip, other]);
    expect(got.get(vip.id)).toEqual([]);
    expect(got.get(other.id)).toEqual([byTag.id]);

    // Removing the filter: every event of the subscribed type again.
    await subs.writer.put({ ...byTag, filter: null, version: 3 });
    await waitFor(
      async () => {
        const probe = opened(null);
        return (await reached([probe])).get(probe.id)?.includes(byTag.id) ?? false;
      },
      { what: 'filter removal applied' },
    );
    const any = opened(['vip']);
    expect((await reached([any])).get(any.id)).toEqual([byTag.id]);
  });
});
