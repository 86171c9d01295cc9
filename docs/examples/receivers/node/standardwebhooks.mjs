// Verifying with the `standardwebhooks` package from the npm registry (npm install standardwebhooks).
// Run: node standardwebhooks.mjs <request.json> <secret>
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';

const [file, secret] = process.argv.slice(2);
const request = JSON.parse(readFileSync(file, 'utf8'));
const rawBody = Buffer.from(request.body_base64, 'base64').toString('utf8');

const wh = new Webhook(secret); // accepts the whsec_… string as shown by the API
// jsonParse: false — the library would JSON.parse the body, which throws on JSON Lines bodies. Verify
// the raw bytes, then parse by Content-Type. The library also checks the timestamp (5 minutes).
wh.verify(rawBody, request.headers, { jsonParse: false }); // throws WebhookVerificationError
const items = request.headers['content-type'].startsWith('application/x-ndjson')
  ? rawBody
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
  : JSON.parse(rawBody); // a JSON array, even for one event
console.log(
  JSON.stringify({
    standard: true,
    batch_id: request.headers['webhook-id'],
    event_ids: items.map((i) => (i.type.startsWith('activity.') ? i.data.id : i.data.event_id)),
  }),
);
