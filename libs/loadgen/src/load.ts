import type { EmailEvent } from '@hookpost/events';

export interface LoadOptions {
  next: () => EmailEvent;
  send: (events: EmailEvent[]) => Promise<void>;
  /** Total events; Infinity runs until the signal aborts. */
  count: number;
  /** Events per second; 0 means as fast as the sink accepts. */
  rate: number;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (sent: number) => void;
}

/**
 * Produces `count` events at `rate` per second in batches. Pacing waits on a timer between batches
 * (this is a load generator, not a handler), and stops early when the signal aborts.
 */
export async function runLoad(options: LoadOptions): Promise<number> {
  const batchSize = Math.max(1, options.batchSize ?? 500);
  const start = performance.now();
  let sent = 0;
  while (sent < options.count && !options.signal?.aborted) {
    const n = Math.min(batchSize, options.count - sent);
    const batch = Array.from({ length: n }, options.next);
    await options.send(batch);
    sent += n;
    options.onProgress?.(sent);
    if (options.rate > 0) {
      const dueMs = (sent / options.rate) * 1000 - (performance.now() - start);
      if (dueMs > 0) await delay(dueMs, options.signal);
    }
  }
  return sent;
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
