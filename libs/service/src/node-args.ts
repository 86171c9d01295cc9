/**
 * Node flags every hookpost service runs with: wherever a service process is started (scripts/start.ts,
 * the bench, the tests' spawnService) and in the image (Dockerfile NODE_OPTIONS, checked by a test).
 *
 * `--max-semi-space-size=2` (MiB; V8's default grows to 16 or more): a service's garbage is mostly
 * short-lived fetch records and output strings, so a small young generation is collected more often at
 * the same CPU while the heap V8 reserves shrinks. Measured in the bench's throughput phase (1 000
 * webhooks, 100 000 events, same machine): peak RSS fan-out 361 -> 304, batcher 438 -> 311, delivery
 * 382 -> 259 MiB, heap total 180 -> 72-82 MiB, CPU per event within the runs' spread (issue 15).
 */
export const SERVICE_NODE_ARGS: readonly string[] = ['--max-semi-space-size=2'];

/**
 * One service's flags on top of those, given after them (and after the image's NODE_OPTIONS), so a
 * V8 flag set in both takes this value: the image's CMD and the k8s manifests' commands carry them,
 * checked by the k8s test.
 *
 * delivery, `--max-semi-space-size=32 --heap-growing-percent=100`: at one event per request it queues
 * up to 16 windows of records per partition (KafkaJS message objects, ~1 KB of heap each) behind the
 * window, enough for the ~100 ms a resumed partition waits for its next fetch, and at ~200 MB/s of
 * allocation (~26 KB per request) a 16 MiB young generation was scavenged every ~80 ms: most queued
 * records outlived one scavenge and many were promoted. At 32 the scavenges come every ~160 ms and
 * most of them die young. Bench peer phase, `max_events` 1, 50 000 events, peer-only runs interleaved
 * with the tree at 16 (six pairs at 32 alone, three with the growing limit, one session):
 * delivery CPU 5.0 / 5.3 / 5.4 / 5.1 / 4.2 / 4.2 and 5.3 / 4.6 / 5.2 s against 6.4 / 6.4 / 6.4 / 5.4 /
 * 4.6 / 5.1 and 5.7 / 5.7 / 6.2 s, requests/s +26 % in the last three pairs. (8 -> 16 had halved the
 * scavenges once already: ~9 % less delivery CPU.) The cost is the young generation: peak RSS in the
 * throughput phase 230 / 251 MiB at 32 alone against 211-226 at 16, too close to the 256 bound; with
 * `--heap-growing-percent=100` (as the batcher, below: the old generation grows to twice what the
 * last full collection left) 199 / 203 MiB: external memory read 41 / 58 against 66-88 MiB, as
 * mark-compacts come sooner and free what promoted Buffers held (release-bytes.ts).
 *
 * batcher, `--max-semi-space-size=16`: at one event per request it allocates ~15 KB per event (the
 * decoded event, its rendered envelope, the batch record and its produce request), ~240 MB/s at the
 * peer phase's 16 000 events/s, so a 2 MiB young generation was scavenged every ~8 ms, each time with
 * the records of the open transaction and the fetch in hand. Peer-only runs interleaved with the tree
 * at 2 (six pairs, one session): batcher CPU 1.9 / 1.8 / 1.5 / 1.4 / 1.5 / 1.8 s against 2.0 / 2.1 /
 * 2.0 / 1.6 / 1.9 / 2.0 s. The cost: its throughput-phase peak RSS 215 / 214 MiB against 181-189.
 *
 * batcher, `--heap-growing-percent=100`: the old generation may grow to twice what the last full
 * collection left, not the up to 4x V8 allows a small heap whose collections are fast. The batcher's
 * garbage is promoted event pieces and fetch records, and since its batch records and produce
 * requests are freed at once (releaseBytes), external memory no longer starts a full collection
 * early, so its heap grew into the room: bench throughput phase, interleaved runs of one tree,
 * batcher peak RSS in the 500 ms samples 219 / 231 / 263 MiB (heap used 76 / 89 / 111) by default,
 * 214 / 202 / 203 (73 / 63 / 67) with it; CPU per event 47 / 39 / 45 against 51 / 41 / 48 us.
 */
export const SERVICE_NODE_ARGS_OF: Readonly<Record<string, readonly string[]>> = {
  delivery: ['--max-semi-space-size=32', '--heap-growing-percent=100'],
  batcher: ['--max-semi-space-size=16', '--heap-growing-percent=100'],
};

/** The node flags an entry point `services/<service>/src/main.ts` runs with, before the entry. */
export function serviceNodeArgs(entry: string): string[] {
  const service = /(?:^|\/)services\/([^/]+)\//.exec(entry)?.[1] ?? '';
  return [...SERVICE_NODE_ARGS, ...(SERVICE_NODE_ARGS_OF[service] ?? [])];
}

/**
 * Environment every hookpost service starts with, in the same places (the image sets it with ENV,
 * checked by the same test). glibc's malloc, which holds Buffers' bytes, by default keeps freed memory
 * in its arenas and raises its mmap threshold after each large free, so a service's RSS stayed at its
 * peak after its Buffers were freed (the batcher at 270 MiB with 20 MiB of them live). With a fixed
 * mmap threshold of 64 KiB, blocks of that size and more go back to the system when freed, and the
 * heap top is trimmed past 1 MiB. Measured in the bench's throughput phase (one run each, same
 * machine, the batcher's own blocks and a forced collection per second, since reverted, in both): peak
 * RSS without these settings fan-out 248, batcher 273, delivery 251 MiB; with them 221, 230 and 219 MiB,
 * at the same CPU per event within the runs' spread.
 * `MALLOC_ARENA_MAX=2`: glibc gives threads arenas of their own (up to 8 per core), and V8's compiler
 * and GC threads and libuv's pool each allocate in theirs, so memory freed in one arena was not reused
 * by another. Bench throughput phase, interleaved runs of the same tree: the batcher's peak RSS in the
 * 500 ms samples 264 / 263 MiB against 280 / 289 without it, its run-wide peak 286 / 280 against
 * 302 / 294, CPU per event within the runs' spread (54 / 50 against 47 / 50 µs).
 * Other C libraries ignore these variables.
 */
export const SERVICE_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '65536',
  MALLOC_TRIM_THRESHOLD_: '1048576',
  MALLOC_ARENA_MAX: '2',
};
