import { ref } from 'vue';

/** An action that talks to the node (save, send, upload): `busy` while it runs, and its error kept for the form. */
export function useBusyAction() {
  const busy = ref(false);
  const error = ref<unknown>();

  /** Runs `work`; true when it succeeded. */
  async function run(work: () => Promise<unknown>): Promise<boolean> {
    busy.value = true;
    error.value = undefined;
    try {
      await work();
      return true;
    } catch (caught) {
      error.value = caught;
      return false;
    } finally {
      busy.value = false;
    }
  }

  return { busy, error, run };
}
