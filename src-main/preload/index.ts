// Runs in a sandboxed renderer: only a subset of `electron` (contextBridge,
// ipcRenderer, ...) is available, no Node modules. Built as CommonJS
// (out/preload/index.cjs) because sandboxed preloads cannot be ES modules.
import { contextBridge, ipcRenderer } from 'electron';
import { version } from '../../package.json';
import { IPC } from '../ipc-contract';
import type { LiaisonBridge, NodeAccess, NodeStatus } from './bridge';

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
  savedLogin: Object.freeze({
    save: (secret: string): Promise<boolean> => ipcRenderer.invoke(IPC.loginSave, secret),
    load: (): Promise<string | null> => ipcRenderer.invoke(IPC.loginLoad),
    clear: (): Promise<void> => ipcRenderer.invoke(IPC.loginClear),
  }),
});

contextBridge.exposeInMainWorld('liaison', bridge);
