// Runs in a sandboxed renderer: only a subset of `electron` (contextBridge,
// ipcRenderer, ...) is available, no Node modules. Built as CommonJS
// (out/preload/index.cjs) because sandboxed preloads cannot be ES modules.
import { contextBridge } from 'electron';
import { version } from '../../package.json';
import type { LiaisonBridge } from './bridge';

const bridge: LiaisonBridge = Object.freeze({ version });

contextBridge.exposeInMainWorld('liaison', bridge);
