import { describe, expect, it } from 'vitest';
import { activeStages, lagOfStages } from './routes-insights.ts';

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

  describe('of the two groups that read the events in turn, the one in use', () => {
    const stage = (group: string, lag: number | null) => ({
      stage: group,
      group,
      topic: group === 'g-delivery' ? 'batches' : 'events',
      lag,
      note: lag === null ? 'no committed offsets (stage not running yet?)' : null,
    });
    const turn = ['g-batcher-events', 'g-fanout'];
    const kept = (lags: [number | null, number | null]) =>
      activeStages(
        [stage('g-batcher-events', lags[0]), stage('g-fanout', lags[1]), stage('g-delivery', 3)],
        turn,
      ).map((s) => s.group);

    it('the default (the batcher) when neither has committed, or when it is further on', () => {
      expect(kept([null, null])).toEqual(['g-batcher-events', 'g-delivery']);
      expect(kept([0, null])).toEqual(['g-batcher-events', 'g-delivery']);
      expect(kept([5, 90_000])).toEqual(['g-batcher-events', 'g-delivery']);
      expect(kept([5, 5])).toEqual(['g-batcher-events', 'g-delivery']);
    });

    it('the fan-out when only it committed, or it is further on (the two-stage deployment)', () => {
      expect(kept([null, 12])).toEqual(['g-fanout', 'g-delivery']);
      expect(kept([40_000, 0])).toEqual(['g-fanout', 'g-delivery']);
    });

    it('everything when only one of them is listed', () => {
      expect(activeStages([stage('g-fanout', 1), stage('g-delivery', 3)], turn)).toHaveLength(2);
    });
  });
});
