import { getCurrentInstance, inject, provide, reactive, ref, type ComponentInternalInstance, type InjectionKey, type Ref } from 'vue';
import { refusalOf } from '../api/refusal';
import { useRefusalText } from './refusal-text';

/**
 * A form's refusals said next to their fields: the node names the field (`expression`) and the reason (a code of
 * `refusals` in the i18n files); the form names its fields. A refusal of a field the form does not show, or with a
 * code it cannot word, goes to `form`; anything that is no refusal (node unreachable…) to `other`, for ErrorMessage.
 */
/** Counts a form's checks: a FormField shows its refusal again at each one, even if it is the same as the last. */
const CHECKS: InjectionKey<Ref<number>> = Symbol('field checks');

/** One count per component, whatever number of forms it holds. */
const counts = new WeakMap<ComponentInternalInstance, Ref<number>>();

/** For the forms inside this component: returns what to call at each check (each submit). */
export function provideFieldChecks(): () => void {
  const instance = getCurrentInstance();
  let checks = instance ? counts.get(instance) : undefined;
  if (!checks) {
    checks = ref(0);
    provide(CHECKS, checks);
    if (instance) counts.set(instance, checks);
  }
  const count = checks;
  return () => void count.value++;
}

/** In a FormField: the count of its form's checks, when the form keeps one. */
export function injectFieldChecks(): Ref<number> | undefined {
  return inject(CHECKS, undefined);
}

/**
 * `elements` says which field shows the refusals of a FHIR element and those inside it (`ins: 'Patient.identifier'`
 * takes `Patient.identifier[0].value`), for forms whose fields are not named as the node names them.
 */
export function useFieldErrors<F extends string>(fields: readonly F[], elements: Partial<Record<F, string | readonly string[]>> = {}) {
  const word = useRefusalText();
  const checked = provideFieldChecks();
  const errors = reactive<Record<string, string | undefined>>({}) as Partial<Record<F | 'form', string>>;
  const other = ref<unknown>();

  /** The form's field a node's expression names: `admin.password` is the admin step's `admin.password`, or `password`. */
  function fieldOf(expression: string | undefined): F | undefined {
    if (!expression) return undefined;
    const path = expression.replace(/\[\d+\]/g, '');
    const inside = (element: string) => path === element || path.startsWith(`${element}.`);
    const byElement = fields.find((field) => [elements[field] ?? []].flat().some(inside));
    if (byElement) return byElement;
    return fields.find((field) => field === expression) ?? fields.find((field) => expression.endsWith(`.${field}`) || field.endsWith(`.${expression}`));
  }

  function clear(): void {
    for (const key of Object.keys(errors) as Array<F | 'form'>) delete errors[key];
    other.value = undefined;
    checked();
  }

  /** Shows an error where it belongs; returns the field it went to (to bring that field, or its step, forward). */
  function show(error: unknown): F | 'form' | undefined {
    clear();
    const refusal = refusalOf(error);
    const text = word(refusal);
    if (!refusal || text === undefined) {
      other.value = error;
      return undefined;
    }
    const field = fieldOf(refusal.field) ?? 'form';
    errors[field] = text;
    return field;
  }

  /** A check of the form's own (two passwords that differ…), before anything is sent. */
  function set(field: F | 'form', text: string): void {
    errors[field] = text;
  }

  return { errors, other, show, set, clear };
}
