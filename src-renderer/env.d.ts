/// <reference types="vite/client" />

// Kept a global script (no top-level import/export) so both declarations below are ambient.

interface Window {
  /** Present only inside the desktop app; absent when the node serves this UI to a browser. */
  readonly liaison?: import('../src-main/preload/bridge').LiaisonBridge;
}

// Lets plain `tsc -b` resolve `.vue` imports; vue-tsc resolves the real SFC types instead.
declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent;
  export default component;
}
