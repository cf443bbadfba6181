// Runs in a sandboxed renderer: only a subset of `electron` (contextBridge,
// ipcRenderer, ...) is available, no Node modules. Built as CommonJS
// (out/preload/index.cjs) because sandboxed preloads cannot be ES modules.
import { contextBridge, ipcRenderer } from 'electron';
import { version } from '../../package.json';
import { IPC } from '../ipc-contract';
import type { LiaisonBridge, LoginResult, NodeAccess, NodeStatus, Session, SessionUser } from './bridge';

// Each function passes exactly the arguments the main process expects: the page never gets ipcRenderer itself.
const bridge: LiaisonBridge = Object.freeze({
  version,
  nodeAccess: (): Promise<NodeAccess> => ipcRenderer.invoke(IPC.nodeAccess),
  nodeStatus: (): Promise<NodeStatus> => ipcRenderer.invoke(IPC.nodeStatus),
  onNodeStatus(listener: (status: NodeStatus) => void) {
    const forward = (_event: unknown, status: NodeStatus) => listener(status);
    ipcRenderer.on(IPC.nodeStatusChanged, forward);
    return () => void ipcRenderer.removeListener(IPC.nodeStatusChanged, forward);
  },
  openExternal: (url: string): Promise<boolean> => ipcRenderer.invoke(IPC.openExternal, url),
  login: (): Promise<LoginResult> => ipcRenderer.invoke(IPC.loginStart),
  loginWithPassword: (login: string, password: string): Promise<LoginResult> => ipcRenderer.invoke(IPC.loginPassword, login, password),
  changePassword: (login: string, password: string, newPassword: string): Promise<LoginResult> => ipcRenderer.invoke(IPC.passwordChange, login, password, newPassword),
  setupCode: (): Promise<string | null> => ipcRenderer.invoke(IPC.setupCode),
  cancelLogin: (): Promise<boolean> => ipcRenderer.invoke(IPC.loginCancel),
  logout: (): Promise<void> => ipcRenderer.invoke(IPC.logout),
  session: (): Promise<Session | null> => ipcRenderer.invoke(IPC.sessionGet),
  onSessionChange(listener: (user: SessionUser | null) => void) {
    const forward = (_event: unknown, user: SessionUser | null) => listener(user);
    ipcRenderer.on(IPC.sessionChanged, forward);
    return () => void ipcRenderer.removeListener(IPC.sessionChanged, forward);
  },
});

contextBridge.exposeInMainWorld('liaison', bridge);
