import { describe, expect, it } from 'vitest';
import { FailedAttempts } from '../../../src-server/auth/failed-attempts';

describe('FailedAttempts', () => {
  it('holds a client back after five failures until a minute has passed since the first, and forgets on success', () => {
    let now = 1_000_000;
    const attempts = new FailedAttempts(() => now);
    for (let n = 0; n < 4; n++) attempts.failed('a');
    expect(attempts.retryAfter('a')).toBe(0);
    attempts.failed('a');
    expect(attempts.retryAfter('a')).toBe(60);
    now += 59_500;
    expect(attempts.retryAfter('a')).toBe(1);
    expect(attempts.retryAfter('b')).toBe(0);
    now += 500;
    expect(attempts.retryAfter('a')).toBe(0);
    for (let n = 0; n < 4; n++) attempts.failed('a');
    attempts.succeeded('a');
    attempts.failed('a');
    expect(attempts.retryAfter('a')).toBe(0);
  });
});
