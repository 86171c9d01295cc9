/** In-process entry for benchmarks: the fan-out step of one record (bench/filters.ts measures it). */
export { fanOut } from './fanout.ts';
