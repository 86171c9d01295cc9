import { describe, expect, it } from 'vitest';
import { lagOfStages } from './routes-insights.ts';

const groups = [
  { stage: 'fanout', group: 'g-fanout', topic: 'events' },
  { stage: 'batcher', group: 'g-batcher', topic: 'dispatch' },
  { stage: 'delivery', group: 'g-delivery', topic: 'batches' },
  { stage: 'delivery', group: 'g-other', topic: 'batches' },
];

describe('stage lag of the overview', () => {
  it('tells a missing topic, a group without offsets, a lag it could not read and a lag apart', async () => {
    const stages = await lagOfStages(groups, {
      topics: async () => ['dispatch', 'batches'],
      groupLag: async (group) => {
        if (group === 'g-batcher') return null;
        if (group === 'g-other') throw new Error('The coordinator is not available\nat line 2');
        return 7;
      },
    });
    expect(stages.map((s) => [s.group, s.lag, s.note])).toEqual([
      ['g-fanout', null, 'topic not found'],
      ['g-batcher', null, 'no committed offsets (stage not running yet?)'],
      ['g-delivery', 7, null],
      ['g-other', null, 'lag unavailable: The coordinator is not available'],
    ]);
  });

  it('cuts a long error to 200 characters', async () => {
    const [s] = await lagOfStages([groups[1]!], {
      topics: async () => ['dispatch'],
      groupLag: async () => {
        throw new Error('x'.repeat(5000));
      },
    });
    expect(s!.note).toBe(`lag unavailable: ${'x'.repeat(200)}`);
  });
});
