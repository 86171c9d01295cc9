/**
 * In-process entries: the fan-out step of one record (bench/filters.ts measures it), and its matching
 * with the fan-out's counters for the batcher that reads the events topic itself (BATCHER_INPUT=events).
 */
export { fanOut, type MatchDeps, matchEvent } from './fanout.ts';
export { countMatch } from './handler.ts';
export { type FanoutMetrics, fanoutMetrics } from './metrics.ts';
