import { EVENT_TYPES, emailEventSchema } from '@hookpost/events';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { eventGenerator } from './generate.ts';
import { runLoad } from './load.ts';

describe('eventGenerator', () => {
  it('produces schema-valid events of every type in the catalog', () => {
    const type = avro.Type.forSchema(emailEventSchema() as avro.Schema);
    const next = eventGenerator({ domains: 5, seed: 7 });
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const e = next();
      expect(type.isValid(e)).toBe(true);
      seen.add(e.type);
    }
    expect([...seen].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('respects the mix and the domain count', () => {
    const next = eventGenerator({ domains: 3, mix: { 'activity.clicked': 1 } });
    const events = Array.from({ length: 200 }, next);
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(['activity.clicked']));
    expect(new Set(events.map((e) => e.domain_id))).toEqual(new Set(['dom-0', 'dom-1', 'dom-2']));
    expect(events.every((e) => e.morph?.url)).toBe(true);
  });
});

describe('runLoad', () => {
  it('sends exactly count events in batches', async () => {
    const sizes: number[] = [];
    const sent = await runLoad({
      next: eventGenerator({ domains: 1 }),
      send: async (b) => void sizes.push(b.length),
      count: 1234,
      rate: 0,
      batchSize: 500,
    });
    expect(sent).toBe(1234);
    expect(sizes).toEqual([500, 500, 234]);
  });
});
