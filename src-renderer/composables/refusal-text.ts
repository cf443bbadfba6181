import { useI18n } from 'vue-i18n';
import type { Refusal } from '../api/refusal';
import { formatDay, formatTime, type Locale } from '../format';

/**
 * A coded refusal in the user's words: the sentence of its code (`refusals.<code>` of the i18n files) with its values,
 * an instant `start` given as `{start}` (its time) and `{startDay}` (its day), both in the browser's time zone.
 * Undefined when the refusal has no code this UI words: the caller says it by its status instead.
 */
export function useRefusalText() {
  const { t, te, locale } = useI18n();
  /** `key` words it with a screen's own sentence instead, `more` adding values the screen knows (a patient's name). */
  return (refusal: Refusal | undefined, key = refusal?.code && `refusals.${refusal.code}`, more: Record<string, string> = {}): string | undefined => {
    if (!refusal || !key || !te(key)) return undefined;
    const values: Record<string, string | number> = { seconds: refusal.retryAfterSeconds ?? 60, ...more };
    for (const [name, value] of Object.entries(refusal.parameters)) {
      if (value instanceof Date) {
        values[name] = formatTime(value, locale.value as Locale);
        values[`${name}Day`] = formatDay(value, locale.value as Locale);
      } else values[name] = value;
    }
    return t(key, values);
  };
}
