/**
 * The producer guide's Java example (docs/examples/java: Apache Kafka's client, Apache Avro and a
 * serializer writing the Confluent wire format, built with Maven by scripts/java-producer.sh) against
 * the real broker and registry, with the checks of test/support/producer-example.ts: every event
 * decodes to what was sent, carries no headers, is keyed by domain id on the partition `partitionForKey`
 * picks (kafka-clients' default partitioner is the murmur2 we require), a schema-invalid event is
 * refused before anything is sent, and the real fan-out matches its events.
 *
 * Its stderr must stay empty: the example logs the client at WARN, so a warning fails the run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describeProducerExample } from '../support/producer-example.ts';

const root = new URL('../../', import.meta.url).pathname;
let classpath = '';

describeProducerExample({
  name: 'docs/examples/java (dev.hookpost.examples.Producer)',
  prepare: () => {
    // A fresh clone fetches the example's jars from Maven Central into ~/.m2 (about a minute here).
    classpath = execFileSync('bash', [`${root}scripts/java-producer.sh`], {
      encoding: 'utf8',
      timeout: 300_000,
    }).trim();
  },
  run: ({ brokers, registryUrl, topic, eventsFile }) =>
    spawnSync(
      'java',
      [
        // A short-lived client: the C1 compiler alone and the serial collector start it sooner.
        ...['-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'],
        '-cp',
        classpath,
        'dev.hookpost.examples.Producer',
        ...['--brokers', brokers, '--registry', registryUrl, '--topic', topic, '--events', eventsFile],
      ],
      { encoding: 'utf8', timeout: 120_000 },
    ),
});
