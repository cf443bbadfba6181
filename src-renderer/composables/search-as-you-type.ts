import { ref, shallowRef, watch, type Ref } from 'vue';

/**
 * A search box's results as the user types: from two characters, each change aborts the search still running and
 * only the latest answer is kept; the previous results stay until it comes. `clear` empties the list (a choice made).
 */
export function useSearchAsYouType<T>(text: Ref<string>, find: (text: string, signal: AbortSignal) => Promise<T[]>) {
  const found = shallowRef<T[]>([]);
  const error = ref<unknown>();
  let inFlight: AbortController | undefined;

  watch(text, async (value) => {
    inFlight?.abort();
    if (value.trim().length < 2) return void (found.value = []);
    const controller = (inFlight = new AbortController());
    try {
      const result = await find(value.trim(), controller.signal);
      if (controller.signal.aborted) return;
      found.value = result;
      error.value = undefined;
    } catch (caught) {
      if (!controller.signal.aborted) error.value = caught;
    }
  });

  function clear(): void {
    inFlight?.abort();
    found.value = [];
  }

  return { found, error, clear };
}
