import { describe, expect, it } from 'vitest';
import { IPC, IpcPayloadError, isTrustedSender, originOf, PAYLOADS } from '../../src-main/ipc-contract';

describe('isTrustedSender', () => {
  const trusted = ['app://liaison'];
  it('accepts the app top frame only', () => {
    expect(isTrustedSender({ url: 'app://liaison/index.html#/patients', isMainFrame: true }, trusted)).toBe(true);
    expect(isTrustedSender({ url: 'app://liaison/index.html', isMainFrame: false }, trusted)).toBe(false);
    expect(isTrustedSender({ url: 'https://annuaire.sante.fr/', isMainFrame: true }, trusted)).toBe(false);
    expect(isTrustedSender({ url: 'app://liaison.evil/index.html', isMainFrame: true }, trusted)).toBe(false);
    expect(isTrustedSender({ url: 'about:blank', isMainFrame: true }, trusted)).toBe(false);
    expect(isTrustedSender(null, trusted)).toBe(false);
  });
  it('reads origins of custom schemes, which URL.origin reports as "null"', () => {
    expect(originOf('app://liaison/a/b')).toBe('app://liaison');
    expect(originOf('http://localhost:5173/x')).toBe('http://localhost:5173');
    expect(originOf('not a url')).toBeUndefined();
  });
});

describe('IPC payloads', () => {
  it('take exactly what each channel expects', () => {
    expect(PAYLOADS[IPC.nodeAccess]([])).toEqual([]);
    expect(PAYLOADS[IPC.openExternal](['https://annuaire.sante.fr/'])).toEqual(['https://annuaire.sante.fr/']);
    for (const channel of [IPC.loginStart, IPC.loginCancel, IPC.logout, IPC.sessionGet, IPC.setupCode]) expect(PAYLOADS[channel]([])).toEqual([]);
    expect(PAYLOADS[IPC.loginPassword](['jeanne.dupont', 'mot de passe long'])).toEqual(['jeanne.dupont', 'mot de passe long']);
    expect(PAYLOADS[IPC.passwordChange](['jeanne.dupont', 'provisoire-123', 'nouveau mot de passe'])).toEqual(['jeanne.dupont', 'provisoire-123', 'nouveau mot de passe']);
  });

  it('names the login channels as the preload calls them, and lets the window invoke no event channel', () => {
    expect([IPC.loginStart, IPC.loginCancel, IPC.logout, IPC.sessionGet]).toEqual(['login:start', 'login:cancel', 'logout', 'session:get']);
    expect(Object.keys(PAYLOADS)).not.toContain(IPC.sessionChanged);
    expect(Object.keys(PAYLOADS)).not.toContain(IPC.nodeStatusChanged);
  });

  it('has no channel that hands the refresh token to the window or takes one from it', () => {
    for (const gone of ['login:save', 'login:load', 'login:clear']) expect(Object.keys(PAYLOADS)).not.toContain(gone);
  });

  it.each([
    [IPC.nodeAccess, ['extra']],
    [IPC.openExternal, []],
    [IPC.openExternal, [42]],
    [IPC.openExternal, ['https://a.fr/', 'https://b.fr/']],
    [IPC.openExternal, ['x'.repeat(3000)]],
    // The login runs in the main process: nothing of the page's choosing reaches it (no URL, no token, no options).
    [IPC.loginStart, ['https://evil.example/authorize']],
    [IPC.loginStart, [{ redirect: 'loopback' }]],
    [IPC.loginStart, [undefined]],
    [IPC.loginCancel, ['login-id']],
    [IPC.logout, [{ everywhere: true }]],
    [IPC.sessionGet, ['refresh-token']],
    [IPC.sessionGet, [null]],
    [IPC.setupCode, ['guess']],
    // A local login takes exactly a login and a password, as strings of sane length: no object, no option, no token.
    [IPC.loginPassword, ['jeanne.dupont']],
    [IPC.loginPassword, ['jeanne.dupont', 'secret', 'extra']],
    [IPC.loginPassword, [{ login: 'jeanne.dupont' }, 'secret']],
    [IPC.loginPassword, ['jeanne.dupont', '']],
    [IPC.loginPassword, ['x'.repeat(201), 'secret']],
    [IPC.loginPassword, ['jeanne.dupont', 'x'.repeat(1025)]],
    [IPC.passwordChange, ['jeanne.dupont', 'old']],
    [IPC.passwordChange, ['jeanne.dupont', 'old', 42]],
  ] as const)('%s refuses %j', (channel, args) => {
    expect(() => PAYLOADS[channel](args)).toThrow(IpcPayloadError);
  });
});
