import { defineStore } from 'pinia';
import { onBeforeUnmount, onMounted, ref } from 'vue';
import { nodeUrl } from '../node-connection';

/**
 * Whether the node answers. The UI asks `/health` (open to all, cheap) now and then, and at once when a call found
 * nobody there; while the node is away it asks more often. When it answers again, every screen section on display
 * reloads its data (each registered with `useReloadWhenNodeBack`): the page itself stays, with whatever is being typed.
 */

/** How often the node is asked while it answers, and while it does not (ms). */
export const CHECK_EVERY_MS = { reachable: 10_000, away: 2_000 } as const;

export const useConnectionStore = defineStore('connection', () => {
  const reachable = ref(true);
  /** Set when the node came back, until the user closes the note or the node goes away again. */
  const cameBack = ref(false);
  const reloads = new Set<() => unknown>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let checking: Promise<boolean> | undefined;

  function schedule(): void {
    clearTimeout(timer);
    timer = setTimeout(() => void check(), reachable.value ? CHECK_EVERY_MS.reachable : CHECK_EVERY_MS.away);
  }

  /** Asks `/health`: any HTTP answer means the node is there (a degraded node still serves). */
  function check(): Promise<boolean> {
    checking ??= (async () => {
      let answered: boolean;
      try {
        await fetch(await nodeUrl('/health'), { cache: 'no-store' });
        answered = true;
      } catch {
        answered = false;
      }
      if (answered && !reachable.value) back();
      else if (!answered && reachable.value) {
        reachable.value = false;
        cameBack.value = false;
      }
      return answered;
    })().finally(() => {
      checking = undefined;
      if (watching) schedule();
    });
    return checking;
  }

  function back(): void {
    reachable.value = true;
    cameBack.value = true;
    // Each reload keeps its own failure as its section's error: none rejects here.
    for (const reload of reloads) void Promise.resolve().then(reload).catch(() => undefined);
  }

  /** A call could not reach the node: find out now rather than at the next check. */
  function callFailed(): void {
    if (reachable.value) void check();
  }

  let watching = false;
  /** Starts asking `/health` periodically (once the app is mounted); `stop` for tests. */
  function watch(): void {
    watching = true;
    schedule();
  }
  function stop(): void {
    watching = false;
    clearTimeout(timer);
  }

  function onBack(reload: () => unknown): () => void {
    reloads.add(reload);
    return () => reloads.delete(reload);
  }

  return { reachable, cameBack, check, callFailed, watch, stop, onBack };
});

/** Reloads a section's data when the node comes back, for as long as the calling component is mounted. */
export function useReloadWhenNodeBack(reload: () => unknown): void {
  const connection = useConnectionStore();
  let forget: (() => void) | undefined;
  onMounted(() => (forget = connection.onBack(reload)));
  onBeforeUnmount(() => forget?.());
}
