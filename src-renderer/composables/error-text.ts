import { useI18n } from 'vue-i18n';
import { FhirApiError, NodeUnreachableError } from '../api/fhir-client';
import { refusalOf } from '../api/refusal';
import { useRefusalText } from './refusal-text';

/**
 * An error in words a secretary understands: the sentence of the node's refusal code (with its values, times in the
 * user's zone), else a sentence by HTTP status. Never the node's English diagnostics, never a stack trace.
 */
export function useErrorText() {
  const { t, te } = useI18n();
  const word = useRefusalText();
  return (error: unknown): { headline: string; detail?: string } => {
    if (error instanceof NodeUnreachableError || error instanceof TypeError) return { headline: t('errors.network') };
    if (error instanceof FhirApiError) {
      const coded = word(refusalOf(error));
      if (coded !== undefined) return { headline: coded };
      const key = `errors.status.${error.status}`;
      return { headline: te(key) ? t(key) : error.status >= 500 ? t('errors.status.500') : t('errors.other') };
    }
    return { headline: t('errors.other'), detail: error instanceof Error ? error.message : undefined };
  };
}
