import fc from 'fast-check';
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaLogLevel } from './client.ts';

// Entries as KafkaJS writes them (namespaces and texts from kafkajs/src: eosManager, sendMessages,
// consumer/index.js, network/connection.js, protocol/error.js).
const concurrent =
  'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing';
const loading = "The coordinator is loading and hence can't process requests for this group";

describe('kafkaLogLevel', () => {
  it('writes retried CONCURRENT_TRANSACTIONS and start-up coordinator answers as warnings, not errors', () => {
    for (const [namespace, entry] of [
      ['Producer', { message: `Failed to send messages: ${concurrent}` }],
      ['Producer', { message: concurrent }],
      ['Consumer', { message: `Crash: KafkaJSProtocolError: ${loading}` }],
      ['Consumer', { message: 'Restarting the consumer in 300ms' }],
      ['Cluster', { message: 'The group coordinator is not available' }],
      ['BrokerPool', { message: 'This is not the correct coordinator for this group' }],
      ['Runner', { message: 'The coordinator is not aware of this member, re-joining the group' }],
    ] as const)
      expect(kafkaLogLevel(namespace, logLevel.ERROR, entry), entry.message).toBe('warn');
  });

  it('keeps raw Connection error responses at debug (the caller logs what matters)', () => {
    expect(
      kafkaLogLevel('Connection', logLevel.ERROR, {
        message: 'Response AddPartitionsToTxn(key: 24, version: 1)',
        error: concurrent,
      }),
    ).toBe('debug');
  });

  it('leaves every other error an error, and other levels as KafkaJS gave them', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (namespace, message) => {
        fc.pre(!message.includes('coordinator') && !message.includes('concurrent operation'));
        fc.pre(!(namespace === 'Connection' && message.startsWith('Response ')));
        return kafkaLogLevel(namespace, logLevel.ERROR, { message }) === 'error';
      }),
      { numRuns: 2000 },
    );
    expect(
      kafkaLogLevel('Producer', logLevel.ERROR, { message: 'Failed to send messages: Broker not found' }),
    ).toBe('error');
    expect(kafkaLogLevel('Consumer', logLevel.WARN, { message: loading })).toBe('warn');
    expect(
      kafkaLogLevel('Consumer', logLevel.ERROR, { message: 'Crash: KafkaJSNumberOfRetriesExceeded: x' }),
    ).toBe('error');
    // UNKNOWN_MEMBER_ID is not retried by KafkaJS: a consumer it crashes stops, an error.
    expect(
      kafkaLogLevel('Consumer', logLevel.ERROR, {
        message: 'Crash: KafkaJSProtocolError: The coordinator is not aware of this member',
      }),
    ).toBe('error');
    expect(kafkaLogLevel('Consumer', logLevel.INFO, { message: 'Starting' })).toBe('info');
    expect(kafkaLogLevel('Consumer', logLevel.DEBUG, { message: concurrent })).toBe('debug');
  });
});
