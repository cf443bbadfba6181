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
    expect(PAYLOADS[IPC.loginSave](['eyJhbGciOi.refresh_token-1'])).toEqual(['eyJhbGciOi.refresh_token-1']);
  });

  it.each([
    [IPC.nodeAccess, ['extra']],
    [IPC.openExternal, []],
    [IPC.openExternal, [42]],
    [IPC.openExternal, ['https://a.fr/', 'https://b.fr/']],
    [IPC.openExternal, ['x'.repeat(3000)]],
    [IPC.loginSave, ['']],
    [IPC.loginSave, ['with space']],
    [IPC.loginSave, ['é']],
    [IPC.loginSave, [{ secret: 'x' }]],
    [IPC.loginClear, [true]],
  ] as const)('%s refuses %j', (channel, args) => {
    expect(() => PAYLOADS[channel](args)).toThrow(IpcPayloadError);
  });
});
