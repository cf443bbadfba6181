import { utilityProcess } from 'electron';
import type { FromNode } from '../src-server/node-process';
import type { SpawnNode } from './node-supervisor';

/** Starts the node's entry (out/main/node-process.js) in an Electron utility process. */
export function utilityProcessSpawner(entry: string): SpawnNode {
  return (args) => {
    const child = utilityProcess.fork(entry, args, { serviceName: 'Liaison node', stdio: 'inherit' });
    return {
      postMessage: (message) => child.postMessage(message),
      onMessage: (listener) => child.on('message', (message: FromNode) => listener(message)),
      onExit: (listener) => child.on('exit', (code) => listener(code)),
      kill: () => void child.kill(),
    };
  };
}
