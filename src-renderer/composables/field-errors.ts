import { reactive, ref } from 'vue';
import { useI18n } from 'vue-i18n';
import { refusalOf } from '../api/refusal';

/**
 * A form's refusals said next to their fields: the node names the field (`expression`) and the reason (a code of
 * `refusals` in the i18n files); the form names its fields. A refusal of a field the form does not show, or with a
 * code it cannot word, goes to `form`; anything that is no refusal (node unreachable…) to `other`, for ErrorMessage.
 */
export function useFieldErrors<F extends string>(fields: readonly F[]) {
  const { t, te } = useI18n();
  const errors = reactive<Record<string, string | undefined>>({}) as Partial<Record<F | 'form', string>>;
  const other = ref<unknown>();

  /** The form's field a node's expression names: `admin.password` is the admin step's `admin.password`, or `password`. */
  function fieldOf(expression: string | undefined): F | undefined {
    if (!expression) return undefined;
    return fields.find((field) => field === expression) ?? fields.find((field) => expression.endsWith(`.${field}`) || field.endsWith(`.${expression}`));
  }

  function clear(): void {
    for (const key of Object.keys(errors) as Array<F | 'form'>) delete errors[key];
    other.value = undefined;
  }

  /** Shows an error where it belongs; returns the field it went to (to bring that field, or its step, forward). */
  function show(error: unknown): F | 'form' | undefined {
    clear();
    const refusal = refusalOf(error);
    const key = refusal?.code && `refusals.${refusal.code}`;
    if (!refusal || !key || !te(key)) {
      other.value = error;
      return undefined;
    }
    const field = fieldOf(refusal.field) ?? 'form';
    errors[field] = t(key, { seconds: refusal.retryAfterSeconds ?? 60 });
    return field;
  }

  /** A check of the form's own (two passwords that differ…), before anything is sent. */
  function set(field: F | 'form', text: string): void {
    errors[field] = text;
  }

  return { errors, other, show, set, clear };
}
