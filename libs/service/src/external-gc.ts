/**
 * Bounds the garbage held outside the V8 heap. A service's Buffers (fetched records, closed batches,
 * request bodies) die young, but their bytes are freed only when V8 collects the objects that own them,
 * and V8 starts a full collection for external memory only once it has grown by 64 MiB since the last
 * one. Measured in the bench's throughput phase: the batcher held 96-161 MiB of external memory with at
 * most 64 MiB of open batches, the delivery ~90 MiB, and peak RSS followed (issue 15). So every
 * `intervalMs` the external bytes are read, and past `thresholdBytes` a full collection runs, at most
 * one per `minGapMs` (a process whose live Buffers exceed the threshold pays one collection a second,
 * a few per cent of a core, and no more).
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface ExternalGcOptions {
  thresholdBytes: number;
  intervalMs?: number;
  minGapMs?: number;
  /** Bytes held outside the heap (default: V8's external_memory). */
  read?: () => number;
  /** A full collection (default: V8's gc, exposed at run time). */
  gc?: () => void;
  now?: () => number;
  /** Called after each collection it ran, with the bytes before and after (V8 may release them a little later). */
  onCollect?: (before: number, after: number) => void;
}

export class ExternalGc {
  private readonly o: Required<Omit<ExternalGcOptions, 'onCollect'>> & Pick<ExternalGcOptions, 'onCollect'>;
  private last = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: ExternalGcOptions) {
    this.o = {
      intervalMs: 250,
      minGapMs: 1_000,
      read: () => getHeapStatistics().external_memory,
      gc: fullGc,
      now: () => performance.now(),
      ...options,
    };
  }

  /** One check; true when it collected. */
  check(): boolean {
    if (this.o.thresholdBytes <= 0) return false;
    const before = this.o.read();
    const now = this.o.now();
    if (before < this.o.thresholdBytes || now - this.last < this.o.minGapMs) return false;
    this.last = now;
    this.o.gc();
    this.o.onCollect?.(before, this.o.read());
    return true;
  }

  start(): void {
    if (this.o.thresholdBytes <= 0 || this.timer) return;
    this.timer = setInterval(() => this.check(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

let exposed: (() => void) | undefined;

/** V8's full collection: the global gc when node runs with --expose-gc, else exposed now. */
function fullGc(): void {
  if (!exposed) {
    const global = (globalThis as { gc?: () => void }).gc;
    if (global) exposed = global;
    else {
      setFlagsFromString('--expose-gc');
      exposed = runInNewContext('gc') as () => void;
    }
  }
  exposed();
}
