/**
 * The producer guide's Python example (docs/examples/producer.py, confluent-kafka in the venv that
 * scripts/python-producer-venv.sh makes) against the real broker and registry, with the checks of
 * test/support/producer-example.ts: decoding, keys, murmur2 partitions, a refused schema-invalid event,
 * and the real fan-out matching its events.
 *
 * Its stderr must stay empty: librdkafka warns "Coordinator load in progress" when a broker has no
 * producer ids yet, which scripts/stack.sh now settles before it calls the broker ready.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describeProducerExample } from '../support/producer-example.ts';

const root = new URL('../../', import.meta.url).pathname;
let python = '';

describeProducerExample({
  name: 'docs/examples/producer.py',
  prepare: () => {
    python = execFileSync('bash', [`${root}scripts/python-producer-venv.sh`], {
      encoding: 'utf8',
      timeout: 300_000,
    }).trim();
  },
  run: ({ brokers, registryUrl, topic, eventsFile }) =>
    spawnSync(
      python,
      [
        `${root}docs/examples/producer.py`,
        ...['--brokers', brokers, '--registry', registryUrl, '--topic', topic, '--events', eventsFile],
      ],
      { encoding: 'utf8', timeout: 120_000 },
    ),
});
