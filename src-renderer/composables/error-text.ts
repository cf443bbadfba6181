import { useI18n } from 'vue-i18n';
import { FhirApiError, NodeUnreachableError } from '../api/fhir-client';

/**
 * An error in words a secretary understands: a sentence for what happened (by HTTP status), and the node's own
 * OperationOutcome text as the detail. Never a stack trace.
 */
export function useErrorText() {
  const { t, te } = useI18n();
  return (error: unknown): { headline: string; detail?: string } => {
    if (error instanceof NodeUnreachableError || error instanceof TypeError) return { headline: t('errors.network') };
    if (error instanceof FhirApiError) {
      const key = `errors.status.${error.status}`;
      const headline = te(key) ? t(key) : error.status >= 500 ? t('errors.status.500') : t('errors.other');
      return { headline, detail: error.detail || undefined };
    }
    return { headline: t('errors.other'), detail: error instanceof Error ? error.message : undefined };
  };
}
