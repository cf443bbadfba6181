import { ref, watch, type Ref } from 'vue';

/**
 * Arrow-key navigation of a result list driven from its search box (the combobox pattern: focus stays in the box,
 * `aria-activedescendant` names the active option). Up/Down move, Home/End jump, Enter chooses.
 */
export function useListNavigation(count: Ref<number>, choose: (index: number) => void) {
  const active = ref(-1);
  watch(count, (value) => {
    if (active.value >= value) active.value = value - 1;
  });

  function onKeydown(event: KeyboardEvent): void {
    const total = count.value;
    if (total === 0) return;
    switch (event.key) {
      case 'ArrowDown':
        active.value = Math.min(active.value + 1, total - 1);
        break;
      case 'ArrowUp':
        active.value = Math.max(active.value - 1, 0);
        break;
      case 'Home':
        if (!event.ctrlKey) return;
        active.value = 0;
        break;
      case 'End':
        if (!event.ctrlKey) return;
        active.value = total - 1;
        break;
      case 'Enter':
        if (active.value < 0) active.value = 0;
        choose(active.value);
        break;
      default:
        return;
    }
    event.preventDefault();
  }

  return { active, onKeydown };
}
