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
