export { DEFAULT_MIX, eventGenerator } from './generate.ts';
export { runLoad } from './load.ts';
