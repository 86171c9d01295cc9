/**
 * What each event costs on the internal topics: offsets (records plus transaction markers, from the
 * high watermarks) and bytes (segment files on disk, when the broker is the local stack's), measured
 * before and after a phase. Fewer and smaller records is the throughput lever the fan-out profile
 * points at, so the bench reports it on every run.
 */
import { readdirSync, statSync } from 'node:fs';
import type { Admin } from '@hookpost/kafka';

export interface TopicVolume {
  offsets: number;
  /** Null when the broker's data directory is not on this machine. */
  bytes: number | null;
}

function diskBytes(dataDir: string, topic: string): number {
  let bytes = 0;
  for (const dir of readdirSync(dataDir)) {
    const dash = dir.lastIndexOf('-');
    if (dir.slice(0, dash) !== topic || !/^\d+$/.test(dir.slice(dash + 1))) continue;
    for (const file of readdirSync(`${dataDir}/${dir}`))
      if (file.endsWith('.log')) bytes += statSync(`${dataDir}/${dir}/${file}`).size;
  }
  return bytes;
}

export async function topicVolumes(
  admin: Admin,
  topics: string[],
  dataDir: string | undefined,
): Promise<Record<string, TopicVolume>> {
  const out: Record<string, TopicVolume> = {};
  for (const topic of topics) {
    const offsets = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
    let bytes: number | null = null;
    if (dataDir) {
      try {
        bytes = diskBytes(dataDir, topic);
      } catch {
        bytes = null;
      }
    }
    out[topic] = { offsets, bytes };
  }
  return out;
}

/** Per event between two measurements, keyed by the topic's name without the run's prefix. */
export function perEvent(
  before: Record<string, TopicVolume>,
  after: Record<string, TopicVolume>,
  events: number,
  prefix: string,
): Record<string, { offsets: number; bytes: number | null }> {
  const out: Record<string, { offsets: number; bytes: number | null }> = {};
  for (const [topic, a] of Object.entries(after)) {
    const b = before[topic] ?? { offsets: 0, bytes: 0 };
    out[topic.slice(prefix.length)] = {
      offsets: (a.offsets - b.offsets) / events,
      bytes: a.bytes === null || b.bytes === null ? null : (a.bytes - b.bytes) / events,
    };
  }
  return out;
}
