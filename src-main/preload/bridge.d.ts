/**
 * API exposed by the preload script on `window.liaison` (contextBridge).
 * Shared by the preload (tsconfig.node.json) and the renderer (tsconfig.web.json).
 * Only serialisable data and functions may cross the bridge.
 */
export interface LiaisonBridge {
  /** Application version (package.json), fixed at build time. */
  readonly version: string;
  /**
   * The node's address and a bearer token for it, minted for this launch and kept in memory only. Ask again
   * rather than keeping it: the token is renewed before it expires, and the address may change after a restart.
   */
  nodeAccess(): Promise<NodeAccess>;
  /** Where the node stands (running, restarting after a crash, stopped…). */
  nodeStatus(): Promise<NodeStatus>;
  /** Called on every change of the node's status; returns the function that unsubscribes. */
  onNodeStatus(listener: (status: NodeStatus) => void): () => void;
  /** Opens an allow-listed address (the node's login page, the national directory…) in the system browser. */
  openExternal(url: string): Promise<boolean>;
  /** The user's login, kept across launches encrypted by the operating system (safeStorage). */
  readonly savedLogin: {
    /** False when the system offers no encryption: the user will log in again next time. */
    save(secret: string): Promise<boolean>;
    load(): Promise<string | null>;
    clear(): Promise<void>;
  };
}

export interface NodeAccess {
  /** `http://127.0.0.1:<port>`; the FHIR base is `${url}/fhir`. */
  url: string;
  token: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export type NodeState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed';

export interface NodeStatus {
  state: NodeState;
  /** While running. */
  url?: string;
  /** Restarts after a crash since the app started. */
  restarts: number;
  /** When restarting: the delay before the next start. */
  retryInMs?: number;
  /** Why the node stopped or failed, in words for the user. */
  message?: string;
}
