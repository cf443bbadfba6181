import { describe, expect, it, vi } from 'vitest';
import type { FromNode, ToNode } from '../../src-server/node-process';
import { NodeSupervisor, type NodeChild } from '../../src-main/node-supervisor';
import { nodeArguments } from '../../src-server/node-arguments';
import type { NodeStatus } from '../../src-main/preload/bridge';
import { RestartPolicy } from '../../src-main/restart-policy';

/** A child that does what the test tells it; the real entry is exercised in node-process.test.ts. */
class FakeChild implements NodeChild {
  readonly sent: ToNode[] = [];
  private messageListener?: (message: FromNode) => void;
  private exitListener?: (code: number | null) => void;
  constructor(readonly args: string[]) {}
  postMessage(message: ToNode) {
    this.sent.push(message);
  }
  onMessage(listener: (message: FromNode) => void) {
    this.messageListener = listener;
  }
  onExit(listener: (code: number | null) => void) {
    this.exitListener = listener;
  }
  kill() {
    this.exit(null);
  }
  say(message: FromNode) {
    this.messageListener?.(message);
  }
  exit(code: number | null) {
    this.exitListener?.(code);
  }
}

function setup(policy = new RestartPolicy({ initialDelayMs: 10, maxDelayMs: 100, stableAfterMs: 60_000, maxFastCrashes: 2 })) {
  const children: FakeChild[] = [];
  const supervisor = new NodeSupervisor({
    spawn: (args) => {
      const child = new FakeChild(args);
      children.push(child);
      return child;
    },
    dataDir: '/data',
    dataKey: async () => Buffer.alloc(32, 7),
    appRoot: '/app',
    corsOrigins: ['app://liaison'],
    policy,
    stopTimeoutMs: 50,
  });
  const states: NodeStatus[] = [];
  supervisor.onStatus((status) => states.push(status));
  return { supervisor, children, states };
}

const access = { token: 't1', expiresAt: Date.now() + 3_600_000 };

describe('NodeSupervisor', () => {
  it('passes the data folder, app root, the fixed port 8347 and window origin, and hands out the URL and token once ready', async () => {
    const { supervisor, children } = setup();
    supervisor.start();
    expect(children[0].args).toEqual(nodeArguments({ dataDir: '/data', appRoot: '/app', corsOrigins: ['app://liaison'] }));
    expect(children[0].args).toEqual(['--data', '/data', '--app-root', '/app', '--port', '8347', '--cors-origin', 'app://liaison']);
    const pending = supervisor.access();
    children[0].say({ type: 'ready', url: 'http://127.0.0.1:4100', access, preferredPort: 8347 });
    await expect(pending).resolves.toEqual({ url: 'http://127.0.0.1:4100', ...access });
    // Not on 8347: the status says so, for the window's banner and the tray.
    expect(supervisor.status).toEqual({ state: 'running', url: 'http://127.0.0.1:4100', restarts: 0, preferredPort: 8347 });
  });

  it('renews a token close to expiry through the node', async () => {
    const { supervisor, children } = setup();
    supervisor.start();
    children[0].say({ type: 'ready', url: 'http://127.0.0.1:4100', access: { token: 'old', expiresAt: Date.now() + 1000 }, preferredPort: 8347 });
    const pending = supervisor.access();
    await vi.waitFor(() => expect(children[0].sent).toEqual([{ type: 'token', id: 1 }]), { timeout: 15_000 });
    children[0].say({ type: 'token', id: 1, access });
    await expect(pending).resolves.toMatchObject({ token: 't1' });
  });

  it('restarts a crashed node on the same port, tells listeners, and gives up after repeated fast crashes', async () => {
    const { supervisor, children, states } = setup();
    supervisor.start();
    children[0].say({ type: 'ready', url: 'http://127.0.0.1:4100', access, preferredPort: 8347 });
    children[0].exit(null);
    expect(supervisor.status).toMatchObject({ state: 'restarting', restarts: 1, retryInMs: 10, message: 'the node process was killed' });
    await vi.waitFor(() => expect(children).toHaveLength(2), { timeout: 15_000 });
    // 8347 first, the previous run's port when it is still taken.
    expect(children[1].args[children[1].args.indexOf('--port') + 1]).toBe('8347');
    expect(children[1].args[children[1].args.indexOf('--previous-port') + 1]).toBe('4100');
    children[1].say({ type: 'ready', url: 'http://127.0.0.1:4100', access, preferredPort: 8347 });
    expect(supervisor.status).toEqual({ state: 'running', url: 'http://127.0.0.1:4100', restarts: 1, preferredPort: 8347 });

    children[1].say({ type: 'failed', message: 'disk full' });
    children[1].exit(1);
    await vi.waitFor(() => expect(children).toHaveLength(3), { timeout: 15_000 });
    children[2].exit(1);
    expect(supervisor.status).toMatchObject({ state: 'failed', message: 'the node process exited with code 1 (2 restarts failed)' });
    expect(states.map((status) => status.state)).toEqual(['starting', 'running', 'restarting', 'restarting', 'running', 'restarting', 'restarting', 'failed']);
    await expect(supervisor.access()).rejects.toThrow('restarts failed');

    supervisor.retry();
    expect(children).toHaveLength(4);
    expect(supervisor.status.state).toBe('starting');
  });

  it('says while the node runs on another port than it wanted, also after it restarted on that other port', async () => {
    const { supervisor, children } = setup();
    supervisor.start();
    children[0].say({ type: 'ready', url: 'http://127.0.0.1:8348', access, preferredPort: 8347 });
    expect(supervisor.status).toEqual({ state: 'running', url: 'http://127.0.0.1:8348', restarts: 0, preferredPort: 8347 });
    children[0].exit(null);
    await vi.waitFor(() => expect(children).toHaveLength(2), { timeout: 15_000 });
    // Restarted on the port the previous run had (8347 still taken): still not the one the practice's software knows.
    children[1].say({ type: 'ready', url: 'http://127.0.0.1:8348', access, preferredPort: 8347 });
    expect(supervisor.status).toMatchObject({ state: 'running', url: 'http://127.0.0.1:8348', preferredPort: 8347 });

    const { supervisor: other, children: others } = setup();
    other.start();
    others[0].say({ type: 'ready', url: 'http://127.0.0.1:8347', access, preferredPort: 8347 });
    expect(other.status).toEqual({ state: 'running', url: 'http://127.0.0.1:8347', restarts: 0 });
  });

  it('hands the set-up code of a data folder without users to the window, only while the node that made it runs', async () => {
    const { supervisor, children } = setup();
    supervisor.start();
    expect(supervisor.setupCode).toBeNull();
    children[0].say({ type: 'ready', url: 'http://127.0.0.1:8347', access, preferredPort: 8347, setupCode: 'K7Q2-9XWM' });
    expect(supervisor.setupCode).toBe('K7Q2-9XWM');
    children[0].exit(null);
    expect(supervisor.setupCode).toBeNull();
    await vi.waitFor(() => expect(children).toHaveLength(2), { timeout: 15_000 });
    // Set up meanwhile: the restarted node has users, hence no code.
    children[1].say({ type: 'ready', url: 'http://127.0.0.1:8347', access, preferredPort: 8347 });
    expect(supervisor.setupCode).toBeNull();
  });

  it('stops gracefully, and kills a node that does not stop in time', async () => {
    const { supervisor, children } = setup();
    supervisor.start();
    children[0].say({ type: 'ready', url: 'http://127.0.0.1:4100', access, preferredPort: 8347 });
    const graceful = supervisor.stop();
    expect(children[0].sent).toEqual([{ type: 'stop' }]);
    children[0].exit(0);
    await graceful;
    expect(supervisor.status.state).toBe('stopped');

    supervisor.start();
    const kill = vi.spyOn(children[1], 'kill');
    await supervisor.stop();
    expect(kill).toHaveBeenCalled();
    expect(supervisor.status.state).toBe('stopped');
    expect(children).toHaveLength(2);
  });
});
