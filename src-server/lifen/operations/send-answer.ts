import type { OperationParameter } from '../../rest/extensions';
import type { FhirResponse } from '../../rest/types';

/**
 * The 201 `Parameters` of Lifen's send operations. `$send-to-mss` names its transaction (the CommunicationRequest's
 * id) and tracks it by `$tracking`; `$send-to-ehr` gives only a `tracking-url`, a Communication search by `based-on`,
 * as Lifen's does.
 */
export function sendAnswer(base: string, requestId: string, kind: 'mss' | 'ehr'): FhirResponse {
  const trackingUrl =
    kind === 'mss' ? `${base}/CommunicationRequest/$tracking?transaction-id=${encodeURIComponent(requestId)}` : `${base}/Communication?based-on=CommunicationRequest/${encodeURIComponent(requestId)}`;
  const parameter = [{ name: 'tracking-url', valueString: trackingUrl }, ...(kind === 'mss' ? [{ name: 'transaction-id', valueString: requestId }] : [])];
  return { status: 201, headers: { location: `${base}/CommunicationRequest/${requestId}` }, body: { resourceType: 'Parameters', parameter } };
}

/** What that answer holds, for the OperationDefinitions. */
export function sendAnswerParameters(kind: 'mss' | 'ehr'): OperationParameter[] {
  return [
    { name: 'tracking-url', use: 'out', min: 1, max: '1', type: 'string', documentation: 'Where to follow the send' },
    ...(kind === 'mss' ? [{ name: 'transaction-id', use: 'out' as const, min: 1 as const, max: '1', type: 'string', documentation: 'The id $tracking takes' }] : []),
  ];
}
