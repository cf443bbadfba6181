import { isJson } from '../../fhir/json';
import { badRequest, unprocessable } from '../../fhir/outcome';
import type { OperationCall } from '../../rest/extensions';
import { isRpps, LIFEN_RPPS_SYSTEM, practitionerByRpps } from './directory-lookup';
import { referenceOf, type ParameterSet } from './parameters';
import { IDENTIFIER_SYSTEMS } from '../../directory/codes';

/**
 * Who sends, as Lifen's send operations name them: `sender` (a reference) or `sender-identifier` (an RPPS, as an
 * Identifier or a bare number); without either, the one the caller acts as when that is a single person (or else a
 * single practice). Whether the caller may send as them is the document flow's check (send-rule.ts: 403).
 */

/** The sender as a CommunicationRequest.sender reference, or undefined when nothing names one. */
export function senderReference(call: OperationCall, parameters: ParameterSet): string | undefined {
  const given = referenceOf(parameters.one('sender'));
  const identifier = parameters.one('sender-identifier');
  if (given !== undefined && identifier) throw badRequest('operation-parameter-invalid', "Give 'sender' or 'sender-identifier', not both", 'sender-identifier');
  if (given !== undefined) return given;
  if (identifier) {
    const rpps = rppsOf(identifier.value);
    if (!rpps) throw badRequest('operation-parameter-invalid', `'sender-identifier' must be an RPPS number (11 digits, system ${LIFEN_RPPS_SYSTEM} or ${IDENTIFIER_SYSTEMS.rpps})`, 'sender-identifier');
    const practitioner = practitionerByRpps(call.interactions.searchEngine, rpps, call.base);
    if (!practitioner) throw unprocessable('sender-unknown', `No Practitioner of this node has the RPPS ${rpps}`, 'sender-identifier');
    return `Practitioner/${practitioner.id}`;
  }
  const reach = call.request.reach ?? [];
  for (const type of ['Practitioner', 'Organization']) {
    const own = reach.filter(([reachType]) => reachType === type);
    if (own.length === 1) return `${type}/${own[0][1]}`;
  }
  return undefined;
}

/** The RPPS number of an Identifier (Lifen's system, the ANS one, or none) or of a bare string; undefined otherwise. */
export function rppsOf(value: unknown): string | undefined {
  if (typeof value === 'string') return isRpps(value.trim()) ? value.trim() : undefined;
  if (!isJson(value)) return undefined;
  const { system } = value;
  const text = typeof value.value === 'string' ? value.value.trim() : '';
  if (system === IDENTIFIER_SYSTEMS.idnps && /^8\d{11}$/.test(text)) return text.slice(1);
  if (system !== undefined && system !== LIFEN_RPPS_SYSTEM && system !== IDENTIFIER_SYSTEMS.rpps) return undefined;
  return isRpps(text) ? text : undefined;
}
