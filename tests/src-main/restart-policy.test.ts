import { describe, expect, it } from 'vitest';
import { RestartPolicy } from '../../src-main/restart-policy';

const options = { initialDelayMs: 100, maxDelayMs: 1000, stableAfterMs: 10_000, maxFastCrashes: 3 };

describe('RestartPolicy', () => {
  it('backs off exponentially while the node keeps crashing fast, then gives up', () => {
    const policy = new RestartPolicy(options);
    expect(policy.afterCrash(50)).toEqual({ action: 'restart', delayMs: 100, attempt: 1 });
    expect(policy.afterCrash(50)).toEqual({ action: 'restart', delayMs: 200, attempt: 2 });
    expect(policy.afterCrash(50)).toEqual({ action: 'restart', delayMs: 400, attempt: 3 });
    expect(policy.afterCrash(50)).toEqual({ action: 'give-up', fastCrashes: 3 });
  });

  it('caps the delay', () => {
    const policy = new RestartPolicy({ ...options, maxFastCrashes: 10 });
    const delays = Array.from({ length: 6 }, () => policy.afterCrash(0)).map((decision) => (decision.action === 'restart' ? decision.delayMs : -1));
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('treats a crash after a long run as the first one', () => {
    const policy = new RestartPolicy(options);
    policy.afterCrash(50);
    policy.afterCrash(50);
    expect(policy.afterCrash(60_000)).toEqual({ action: 'restart', delayMs: 100, attempt: 1 });
  });

  it('starts over after reset', () => {
    const policy = new RestartPolicy(options);
    for (let i = 0; i < 4; i++) policy.afterCrash(0);
    policy.reset();
    expect(policy.afterCrash(0)).toEqual({ action: 'restart', delayMs: 100, attempt: 1 });
  });
});
