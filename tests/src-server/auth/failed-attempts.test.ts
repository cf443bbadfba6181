import { describe, expect, it } from 'vitest';
import { FailedAttempts } from '../../../src-server/auth/failed-attempts';

describe('FailedAttempts', () => {
  it('holds each failure of a client back twice as long as the one before, up to 10 s, and forgets after a quiet minute', () => {
    let now = 1_000_000;
    const attempts = new FailedAttempts(() => now);
    expect(attempts.recentlyFailed('a')).toBe(false);
    expect(Array.from({ length: 9 }, () => attempts.failed('a'))).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
    expect(attempts.recentlyFailed('a')).toBe(true);
    expect(attempts.failed('b')).toBe(100);
    now += 59_999;
    expect(attempts.failed('a')).toBe(10_000);
    now += 60_000;
    expect(attempts.recentlyFailed('a')).toBe(false);
    expect(attempts.failed('a')).toBe(100);
    expect(attempts.recentlyFailed('b')).toBe(false);
    expect(attempts.size).toBe(1);
  });
});
