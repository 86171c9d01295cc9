import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './index.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('writes JSON lines with the service name and level label', () => {
    const { lines, destination } = capture();
    createLogger({ name: 'fanout', destination }).info({ webhookId: 'w1' }, 'hello');
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ service: 'fanout', level: 'info', msg: 'hello', webhookId: 'w1' });
  });

  it('redacts secrets, tokens and passwords wherever a component logs them', () => {
    const { lines, destination } = capture();
    const log = createLogger({ name: 'api', destination }).child({ component: 'x' });
    log.info(
      {
        webhook: { id: 'w1', secret: 'whsec_abc', password: 'p4ss', token: 't0k' },
        authorization: 'Bearer zzz',
      },
      'm',
    );
    const text = lines.join('');
    for (const s of ['whsec_abc', 'p4ss', 't0k', 'Bearer zzz']) expect(text).not.toContain(s);
    expect(text).toContain('w1');
  });
});
