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
