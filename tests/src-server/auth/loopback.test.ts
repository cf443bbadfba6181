import { describe, expect, it } from 'vitest';
import { listenOnLoopback } from '../../../src-server/auth/loopback';
import { OneTimeStore } from '../../../src-server/auth/one-time-store';

/** The pieces a login waits with: the desktop login's loopback listener, and single-use expiring values. */

describe('loopback listener', () => {
  it('answers callbacks on 127.0.0.1 until one ends the login, then releases its port', async () => {
    const seen: string[] = [];
    const listener = await listenOnLoopback(async (query) => {
      seen.push(query.get('code') ?? '');
      return { status: query.get('state') === 's' ? 200 : 400, html: '<p>ok</p>', done: query.get('state') === 's' };
    }, 60_000);
    expect(listener.redirectUri).toBe(`http://127.0.0.1:${listener.port}/callback`);
    expect((await fetch(`http://127.0.0.1:${listener.port}/favicon.ico`)).status).toBe(404);
    expect((await fetch(`${listener.redirectUri}?code=stray&state=other`)).status).toBe(400);
    const answer = await fetch(`${listener.redirectUri}?code=abc&state=s`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(await answer.text()).toBe('<p>ok</p>');
    await listener.closed;
    expect(seen).toEqual(['stray', 'abc']);
    await expect(fetch(listener.redirectUri)).rejects.toThrow();
  });

  it('closes when the login times out, without a callback', async () => {
    const listener = await listenOnLoopback(async () => ({ status: 200, html: '', done: true }), 50);
    await listener.closed;
    await expect(fetch(listener.redirectUri)).rejects.toThrow();
  });
});

describe('one-time store', () => {
  it('gives a value once, never after its expiry, and lets a waiting one be peeked', () => {
    let now = 1000;
    const store = new OneTimeStore<string>(() => now);
    store.put('a', 'A', 100);
    store.put('b', 'B', 100);
    expect(store.peek('a')).toBe('A');
    expect(store.take('a')).toBe('A');
    expect(store.take('a')).toBeUndefined();
    now += 100;
    expect(store.peek('b')).toBeUndefined();
    expect(store.take('b')).toBeUndefined();
  });
});
