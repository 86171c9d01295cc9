// The bench's peer: @platformatic/kafka-hooks consuming one topic and POSTing each record to one URL.
// Run by bench/peer.ts from its install directory (.cache/bench-peers/kafka-hooks), so that the
// imports resolve there: node main.mjs <brokers> <topic> <url> <group> <concurrency>
import { create } from '@platformatic/kafka-hooks';

const [brokers, topic, url, groupId, concurrency] = process.argv.slice(2);
const app = await create(process.cwd(), {
  server: { hostname: '127.0.0.1', port: 0, logger: { level: 'warn' } },
  kafka: {
    brokers: brokers.split(','),
    topics: [{ topic, url, dlq: false, retries: 3, retryDelay: 1000 }],
    consumer: { groupId, mode: 'earliest' },
    concurrency: Number(concurrency),
  },
});
await app.start({ listen: true });
console.log('kafka-hooks started');
const stop = async () => {
  await app.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
