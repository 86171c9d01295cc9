import { describe, expect, it } from 'vitest';
import { commonSchema } from './index.ts';
import { configKeys, renderConfigReference } from './reference.ts';

const secret = 'k1:c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=';
const schema = {
  ...commonSchema,
  x: {
    key: { doc: 'a | pipe and <id>', format: String, default: secret, env: 'X_KEY', sensitive: true },
    empty: { doc: 'nothing', format: (_: unknown) => {}, default: '', env: 'X_EMPTY' },
  },
};

describe('renderConfigReference', () => {
  it('lists every key with its dotted path and env var', () => {
    const keys = configKeys(schema);
    expect(keys.map((k) => k.key)).toContain('kafka.brokers');
    expect(keys.map((k) => k.key)).toContain('x.empty');
    expect(keys.find((k) => k.key === 'http.port')?.env).toBe('HTTP_PORT');
    expect(keys).toHaveLength(11);
  });

  it('never prints the default of a sensitive key', () => {
    const text = renderConfigReference([{ name: 'svc', summary: 's', schema }], 'cmd');
    expect(text).not.toContain(secret);
    expect(text).toContain('*secret, hidden*');
    expect(text).toContain('| `x.empty` | `X_EMPTY` | *empty* | string, validated |');
  });

  it('keeps a table cell whole when a doc holds | or <', () => {
    const text = renderConfigReference([{ name: 'svc', summary: 's', schema }], 'cmd');
    expect(text).toContain('a \\| pipe and &lt;id>');
  });

  it('names every reader of a shared env var once', () => {
    const text = renderConfigReference(
      [
        { name: 'a', summary: '', schema },
        { name: 'b', summary: '', schema: { kafka: commonSchema.kafka } },
      ],
      'cmd',
    );
    expect(text).toContain('| `KAFKA_BROKERS` | a, b |');
    expect(text).toContain('| `X_KEY` | a |');
  });
});
