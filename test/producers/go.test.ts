/**
 * The producer guide's Go example (docs/examples/go: franz-go and hamba/avro, writing the Confluent
 * wire format, built by scripts/go-producer.sh) against the real broker and registry, with the checks
 * of test/support/producer-example.ts: every event decodes to what was sent, carries no headers, is
 * keyed by domain id on the partition `partitionForKey` picks (franz-go's StickyKeyPartitioner with a
 * nil hasher is the murmur2 we require), a schema-invalid event is refused before anything is sent,
 * and the real fan-out matches its events.
 *
 * Its stderr must stay empty: franz-go logs nothing unless given a logger, and the example writes to
 * stderr only what failed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describeProducerExample } from '../support/producer-example.ts';

const root = new URL('../../', import.meta.url).pathname;
let binary = '';

describeProducerExample({
  name: 'docs/examples/go (franz-go, hamba/avro)',
  prepare: () => {
    // A fresh machine fetches the modules from the Go module proxy into the module cache first.
    binary = execFileSync('bash', [`${root}scripts/go-producer.sh`], {
      encoding: 'utf8',
      timeout: 300_000,
    }).trim();
  },
  run: ({ brokers, registryUrl, topic, eventsFile }) =>
    spawnSync(
      binary,
      ['--brokers', brokers, '--registry', registryUrl, '--topic', topic, '--events', eventsFile],
      { encoding: 'utf8', timeout: 120_000 },
    ),
});
