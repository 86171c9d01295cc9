/** Writes docs/payloads/<type>.json and the payload reference in docs/receiving.md from the renderer. */
import { readFileSync, writeFileSync } from 'node:fs';
import { examplePayloads, withReference } from './payload-examples.ts';

const docs = new URL('../../../docs/', import.meta.url);
for (const [type, payload] of examplePayloads())
  writeFileSync(new URL(`payloads/${type}.json`, docs), `${JSON.stringify(payload, null, 2)}\n`);
const guide = new URL('receiving.md', docs);
const updated = withReference(readFileSync(guide, 'utf8'));
if (updated === undefined) throw new Error('docs/receiving.md lacks the payloads:begin/end markers');
writeFileSync(guide, updated);
