/** Bytes of records in flight across the consumers that share it; they pause at `limit` and resume below it. */
export class InFlightBytes {
  readonly limit: number;
  private used = 0;
  private readonly waiting = new Set<() => void>();

  constructor(limit: number) {
    this.limit = limit;
  }

  get full(): boolean {
    return this.used >= this.limit;
  }

  take(bytes: number): void {
    this.used += bytes;
  }

  /** Gives bytes back; below the limit, every consumer that paused for room hears of it. */
  give(bytes: number): void {
    this.used -= bytes;
    if (!this.full) for (const resume of this.waiting) resume();
  }

  /** `resume` runs whenever room is given back (until removed). */
  listen(resume: () => void): () => void {
    this.waiting.add(resume);
    return () => this.waiting.delete(resume);
  }
}
