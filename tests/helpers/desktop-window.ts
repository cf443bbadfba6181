import { fork, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { FromNode } from '../../src-server/node-process';
import { APP_CONTENT_SECURITY_POLICY, APP_ORIGIN, resolveAppFile } from '../../src-main/app-protocol-files';
import type { DesktopLogin } from '../../src-main/desktop-login';
import { IPC, PAYLOADS, type InvokeChannel } from '../../src-main/ipc-contract';
import type { NodeSupervisor, SpawnNode } from '../../src-main/node-supervisor';
import type { SystemCipher } from '../../src-main/secret-store';

/**
 * The desktop app without Electron, for tests in Chromium: the node forked from the built `out/main/node-process.js`
 * (child_process.fork standing in for utilityProcess.fork), the built renderer served as `app://liaison/` serves it
 * (the same file mapping and Content-Security-Policy, on an http origin Chromium can load), and `window.liaison`
 * wired to the real main-process objects — the NodeSupervisor, the DesktopLogin — through `page.exposeFunction`, each
 * call checked by the IPC contract as ipc.ts checks it.
 */

/** A spawner of the built node entry; `children` keeps every process it started, for the tests to kill or inspect. */
export function forkBuiltNode(outDir: string): { spawn: SpawnNode; children: ChildProcess[] } {
  const children: ChildProcess[] = [];
  const spawn: SpawnNode = (args) => {
    const child = fork(join(outDir, 'main/node-process.js'), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    return {
      postMessage: (message) => void (child.connected && child.send(message)),
      onMessage: (listener) => child.on('message', (message) => listener(message as FromNode)),
      onExit: (listener) => child.on('exit', (code) => listener(code)),
      kill: () => child.kill('SIGKILL'),
    };
  };
  return { spawn, children };
}

/** Stands in for safeStorage: reversible, and visibly not the plain text. */
export const TEST_CIPHER: SystemCipher = {
  isAvailable: () => true,
  encrypt: (text) => Buffer.from([...Buffer.from(text)].map((byte) => byte ^ 0x5a)),
  decrypt: (data) => Buffer.from([...data].map((byte) => byte ^ 0x5a)).toString(),
};

/** The built renderer on `http://127.0.0.1:<port>`, each file as app-protocol.ts serves it (CSP included). */
export async function serveRendererFiles(rendererRoot: string): Promise<{ origin: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const file = resolveAppFile(`${APP_ORIGIN}${request.url ?? '/'}`, rendererRoot);
    if ('notFound' in file || request.method !== 'GET') return void response.writeHead(404).end('Not found');
    readFile(file.path).then(
      (body) => response.writeHead(200, { 'content-type': file.contentType, 'content-security-policy': APP_CONTENT_SECURITY_POLICY, 'x-content-type-options': 'nosniff' }).end(body),
      () => response.writeHead(404).end('Not found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface MainProcess {
  supervisor: NodeSupervisor;
  login: DesktopLogin;
}

/** What ipc.ts does with each channel, minus Electron (no system browser: `openExternal` refuses). */
function handlers({ supervisor, login }: MainProcess): Record<InvokeChannel, (...args: string[]) => unknown> {
  return {
    [IPC.nodeAccess]: async () => ({ url: await supervisor.address() }),
    [IPC.nodeStatus]: () => supervisor.status,
    [IPC.openExternal]: () => false,
    [IPC.loginStart]: () => login.start(),
    [IPC.loginPassword]: (name, password) => login.loginWithPassword(name, password),
    [IPC.passwordChange]: (name, password, newPassword) => login.changePassword(name, password, newPassword),
    [IPC.loginCancel]: () => login.cancel(),
    [IPC.logout]: () => login.logout(),
    [IPC.sessionGet]: () => login.session(),
    [IPC.setupCode]: () => supervisor.setupCode,
  };
}

/**
 * A page with the preload's `window.liaison`, each call going to the real main-process objects over the IPC
 * contract, and their events (node status, session) sent to the page as the main process sends them.
 */
export async function openDesktopWindow(browser: Browser, main: MainProcess, viewport = { width: 1280, height: 720 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  const handle = handlers(main);
  await page.exposeFunction('liaisonMain', (channel: InvokeChannel, args: unknown[]) => {
    const checked = PAYLOADS[channel](args) as string[];
    return handle[channel](...checked);
  });
  await page.addInitScript((version: string) => {
    const call = (channel: string, ...args: unknown[]) => (globalThis as unknown as { liaisonMain(channel: string, args: unknown[]): Promise<unknown> }).liaisonMain(channel, args);
    const listeners = { node: new Set<(value: unknown) => void>(), session: new Set<(value: unknown) => void>() };
    const subscribe = (kind: keyof typeof listeners) => (listener: (value: unknown) => void) => {
      listeners[kind].add(listener);
      return () => void listeners[kind].delete(listener);
    };
    Object.assign(globalThis, {
      liaisonEmit: (kind: keyof typeof listeners, value: unknown) => listeners[kind].forEach((listener) => listener(value)),
      liaison: Object.freeze({
        version,
        nodeAccess: () => call('node:access'),
        nodeStatus: () => call('node:status'),
        onNodeStatus: subscribe('node'),
        openExternal: (url: string) => call('shell:open-external', url),
        login: () => call('login:start'),
        loginWithPassword: (login: string, password: string) => call('login:password', login, password),
        changePassword: (login: string, password: string, newPassword: string) => call('login:change-password', login, password, newPassword),
        setupCode: () => call('setup:code'),
        cancelLogin: () => call('login:cancel'),
        logout: () => call('logout'),
        session: () => call('session:get'),
        onSessionChange: subscribe('session'),
      }),
    });
  }, '0.0.0-test');
  const emit = (kind: 'node' | 'session', value: unknown) =>
    void page.evaluate(([what, payload]) => (globalThis as unknown as { liaisonEmit?(kind: string, value: unknown): void }).liaisonEmit?.(what as string, payload), [kind, value] as const).catch(() => undefined);
  const unsubscribe = [main.supervisor.onStatus((status) => emit('node', status)), main.login.onChange((user) => emit('session', user))];
  page.on('close', () => unsubscribe.forEach((stop) => stop()));
  return page;
}
