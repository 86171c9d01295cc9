import {
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs';
// KafkaJS's own table of broker error codes, so the errors below are the ones the broker's answers become.
// @ts-expect-error: an untyped internal module of kafkajs 2.2.4
import { createErrorFromCode } from 'kafkajs/src/protocol/error.js';
import { describe, expect, it } from 'vitest';
import { KafkaUnavailableError } from './client.ts';
import { classifyKafkaError, isFencedError, retryTransient } from './errors.ts';

const broker = (code: number) => new KafkaJSProtocolError(createErrorFromCode(code));

describe('classifyKafkaError', () => {
  it.each([
    [5, 'LEADER_NOT_AVAILABLE'],
    [6, 'NOT_LEADER_FOR_PARTITION'],
    [3, 'UNKNOWN_TOPIC_OR_PARTITION'],
    [7, 'REQUEST_TIMED_OUT'],
    [13, 'NETWORK_EXCEPTION'],
    [14, 'GROUP_LOAD_IN_PROGRESS'],
    [15, 'GROUP_COORDINATOR_NOT_AVAILABLE'],
    [16, 'NOT_COORDINATOR_FOR_GROUP'],
    [27, 'REBALANCE_IN_PROGRESS'],
    [51, 'CONCURRENT_TRANSACTIONS'],
  ])('broker code %i (%s) is transient', (code, type) => {
    const error = broker(code);
    expect(error.type).toBe(type);
    expect(classifyKafkaError(error)).toBe('transient');
  });

  it('INVALID_PRODUCER_EPOCH is fenced, also wrapped by KafkaJS after its retries', () => {
    const error = broker(47);
    expect(error.type).toBe('INVALID_PRODUCER_EPOCH');
    expect(classifyKafkaError(error)).toBe('fenced');
    expect(
      classifyKafkaError(new KafkaJSNumberOfRetriesExceeded(error, { retryCount: 5, retryTime: 1000 })),
    ).toBe('fenced');
    expect(isFencedError({ originalError: { type: 'INVALID_PRODUCER_EPOCH' } })).toBe(true);
    expect(isFencedError(new KafkaJSNonRetriableError('Producer was fenced by a newer instance'))).toBe(true);
  });

  it('client-side connection failures and timeouts are transient', () => {
    expect(classifyKafkaError(new KafkaJSConnectionError('Connection error: ECONNREFUSED'))).toBe(
      'transient',
    );
    expect(
      classifyKafkaError(new KafkaJSRequestTimeoutError('Request Metadata(key: 3, version: 6) timed out')),
    ).toBe('transient');
    expect(classifyKafkaError(new KafkaUnavailableError('cannot reach Kafka'))).toBe('transient');
  });

  it('a transient cause inside KafkaJS retry-exhaustion stays transient', () => {
    expect(
      classifyKafkaError(new KafkaJSNumberOfRetriesExceeded(broker(6), { retryCount: 5, retryTime: 1000 })),
    ).toBe('transient');
  });

  it('everything else is fatal', () => {
    for (const code of [29 /* TOPIC_AUTHORIZATION_FAILED */, 35 /* UNSUPPORTED_VERSION */, 36, 87, -1])
      expect(classifyKafkaError(broker(code))).toBe('fatal');
    expect(
      classifyKafkaError(
        new (KafkaJSSASLAuthenticationError as unknown as new (m: string) => Error)('bad credentials'),
      ),
    ).toBe('fatal');
    expect(classifyKafkaError(new KafkaJSError('something'))).toBe('fatal');
    expect(classifyKafkaError(new Error('timeout'))).toBe('fatal');
    expect(classifyKafkaError(undefined)).toBe('fatal');
    expect(classifyKafkaError('LEADER_NOT_AVAILABLE')).toBe('fatal');
  });
});

describe('retryTransient', () => {
  it('retries transient failures until the work succeeds', async () => {
    let calls = 0;
    const result = await retryTransient(
      async () => {
        calls += 1;
        if (calls < 3) throw broker(6);
        return 'ok';
      },
      { initialDelayMs: 1 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('rethrows a fatal or fenced error at once', async () => {
    for (const error of [broker(29), broker(47)]) {
      let calls = 0;
      await expect(
        retryTransient(async () => {
          calls += 1;
          throw error;
        }),
      ).rejects.toBe(error);
      expect(calls).toBe(1);
    }
  });

  it('rethrows the last transient error once the deadline has passed', async () => {
    let calls = 0;
    const error = broker(5);
    await expect(
      retryTransient(
        async () => {
          calls += 1;
          throw error;
        },
        { timeoutMs: 500, initialDelayMs: 5, maxDelayMs: 5 },
      ),
    ).rejects.toBe(error);
    expect(calls).toBeGreaterThan(1);
  });
});
