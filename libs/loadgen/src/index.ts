export { DEFAULT_MIX, eventGenerator, type GeneratorOptions } from './generate.ts';
export { type LoadOptions, runLoad } from './load.ts';
