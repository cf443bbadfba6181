/**
 * API exposed by the preload script on `window.liaison` (contextBridge).
 * Shared by the preload (tsconfig.node.json) and the renderer (tsconfig.web.json).
 * Only serialisable data and functions may cross the bridge.
 */
export interface LiaisonBridge {
  /** Application version (package.json), fixed at build time. */
  readonly version: string;
}
