import { unprocessable } from '../fhir/outcome';
import { arrayOf, type Json } from '../fhir/json';
import { IDENTIFIER_SYSTEMS } from '../directory/codes';
import { CHANNEL_SYSTEM } from '../channels/channel';
import { IDENTITY_RELIABILITY_URL, IDENTITY_STATUS_SYSTEM, IDENTITY_STATUSES } from '../patients/identity';
import type { SurfaceMapping } from '../rest/extensions';
import type { Surface } from '../rest/types';
import { LIFEN_MEDIUM_SYSTEM, LIFEN_MEDIUM_SYSTEMS, LIFEN_RPPS_SYSTEM, PARTICIPANT_NAME_URLS, RECIPIENT_DETAILS_URL, RELIABILITY_INS_URL } from './codes';

/**
 * Lifen's identifiers, codes and extensions onto the node's, on every surface (docs/lifen-compatibility.md): what a
 * Lifen client writes is stored as the node keeps it, and what it searches by finds the node's resources. On Lifen's
 * own surfaces (`/fhir/v2`, `/fhir/v3`) the answers carry Lifen's forms back beside the node's.
 */

const RPPS = IDENTIFIER_SYSTEMS.rpps;
/** Lifen's medium codes and the node's channels (documents/channel.ts); Apicrypt and post have none yet. */
const CHANNEL_OF_MEDIUM: Readonly<Record<string, string>> = { MSSANTE: 'mssante' };
const MEDIUM_OF_CHANNEL: Readonly<Record<string, string>> = { mssante: 'MSSANTE' };
/** Lifen's `ReliabilityINS` codes and the RNIV statuses (patients/identity.ts): Lifen writes QUALI for QUAL. */
const STATUS_OF_RELIABILITY: Readonly<Record<string, string>> = { PROV: 'PROV', RECUP: 'RECUP', VALI: 'VALI', QUALI: 'QUAL', QUAL: 'QUAL' };
const RELIABILITY_OF_STATUS: Readonly<Record<string, string>> = { PROV: 'PROV', RECUP: 'RECUP', VALI: 'VALI', QUAL: 'QUALI' };
const LIFEN_MARK = 'lifen.fr/';

export const lifenMapping: SurfaceMapping = {
  searchParams(params) {
    let mapped: URLSearchParams | undefined;
    for (const [name, value] of params) {
      if (!value.includes(LIFEN_MARK) && !(name === 'medium' || name.endsWith('.medium') || name.startsWith('medium:'))) continue;
      mapped ??= new URLSearchParams();
    }
    if (!mapped) return params;
    for (const [name, value] of params) mapped.append(name, name.split(':')[0].endsWith('medium') ? mediumValue(value) : value.replaceAll(`${LIFEN_RPPS_SYSTEM}|`, `${RPPS}|`));
    return mapped;
  },

  resource(type, resource) {
    switch (type) {
      case 'Patient':
        return arrayOf(resource.extension).some((extension) => (extension as Json)?.url === RELIABILITY_INS_URL) ? withIdentityStatus(resource) : resource;
      case 'Appointment':
        return Array.isArray(resource.participant) ? { ...resource, participant: resource.participant.map(namedParticipant) } : resource;
      case 'CommunicationRequest':
      case 'Communication':
        return Array.isArray(resource.medium) ? { ...resource, medium: resource.medium.map((medium, index) => nodeMedium(type, medium, index)) } : resource;
      default:
        return resource;
    }
  },

  answer(surface: Surface, resourceType: string, json: string) {
    if (surface === 'fhir') return json;
    switch (resourceType) {
      case 'Patient':
        return json.includes(IDENTITY_RELIABILITY_URL) ? JSON.stringify(withReliabilityIns(JSON.parse(json) as Json)) : json;
      case 'Practitioner':
        return json.includes(RPPS) ? JSON.stringify(withLifenRpps(JSON.parse(json) as Json)) : json;
      case 'Communication':
      case 'CommunicationRequest':
        return json.includes(CHANNEL_SYSTEM) ? JSON.stringify(withLifenMedium(JSON.parse(json) as Json)) : json;
      default:
        return json;
    }
  },
};

/** A `medium` search value: Lifen's codes (with or without its system) as the node's channel codes. */
function mediumValue(value: string): string {
  return value
    .split(',')
    .map((item) => {
      const bar = item.indexOf('|');
      const system = bar < 0 ? undefined : item.slice(0, bar);
      const code = bar < 0 ? item : item.slice(bar + 1);
      if (system !== undefined && !LIFEN_MEDIUM_SYSTEMS.has(system)) return item;
      const upper = code.toUpperCase();
      if (system === undefined && upper !== code) return item;
      // A medium with no channel here (APICRYPT) is searched as one: no Communication has it.
      return `${CHANNEL_SYSTEM}|${CHANNEL_OF_MEDIUM[upper] ?? upper.toLowerCase()}`;
    })
    .join(',');
}

/** A medium whose Lifen codings become the node's channels; a medium the node has no channel for is refused. */
function nodeMedium(type: string, medium: unknown, index: number): unknown {
  const codings = arrayOf((medium as Json | undefined)?.coding) as Json[];
  if (!codings.some((coding) => typeof coding.system === 'string' && LIFEN_MEDIUM_SYSTEMS.has(coding.system))) return medium;
  return {
    ...(medium as Json),
    coding: codings.map((coding) => {
      if (typeof coding.system !== 'string' || !LIFEN_MEDIUM_SYSTEMS.has(coding.system)) return coding;
      const channel = CHANNEL_OF_MEDIUM[String(coding.code)];
      if (coding.code === 'APICRYPT') throw unprocessable('medium-unsupported', 'medium APICRYPT: this node has no Apicrypt channel yet; send by MSSANTE', `${type}.medium[${index}]`);
      if (!channel) throw unprocessable('medium-unsupported', `medium ${String(coding.code)}: this node sends by MSSANTE only (${LIFEN_MEDIUM_SYSTEM})`, `${type}.medium[${index}]`);
      return { system: CHANNEL_SYSTEM, code: channel };
    }),
  };
}

/** A Patient whose Lifen `ReliabilityINS` is the node's identity-reliability extension (patients/identity.ts). */
function withIdentityStatus(patient: Json): Json {
  const extensions = arrayOf(patient.extension) as Json[];
  const lifen = extensions.filter((extension) => extension.url === RELIABILITY_INS_URL);
  const status = STATUS_OF_RELIABILITY[String(lifen[0].valueCode)];
  if (lifen.length > 1 || !status) {
    throw unprocessable('identity-status-invalid', `ReliabilityINS is one valueCode of ${Object.keys(RELIABILITY_OF_STATUS).map((code) => RELIABILITY_OF_STATUS[code]).join(', ')}`, 'Patient.extension');
  }
  const others = extensions.filter((extension) => extension.url !== RELIABILITY_INS_URL);
  // The node's own extension, when given too, is the one checked (identity-rule.ts): both must say the same.
  if (others.some((extension) => extension.url === IDENTITY_RELIABILITY_URL)) {
    if (!JSON.stringify(others).includes(`"code":"${status}"`)) throw unprocessable('identity-status-invalid', `ReliabilityINS ${String(lifen[0].valueCode)} contradicts the identity-reliability extension`, 'Patient.extension');
    return { ...patient, extension: others };
  }
  const reliability = { url: IDENTITY_RELIABILITY_URL, extension: [{ url: 'identityStatus', valueCoding: { system: IDENTITY_STATUS_SYSTEM, code: status } }] };
  return { ...patient, extension: [...others, reliability] };
}

function withReliabilityIns(patient: Json): Json {
  const extensions = arrayOf(patient.extension) as Json[];
  const status = extensions
    .filter((extension) => extension.url === IDENTITY_RELIABILITY_URL)
    .flatMap((extension) => arrayOf(extension.extension) as Json[])
    .find((part) => part.url === 'identityStatus');
  const code = (status?.valueCoding as Json | undefined)?.code;
  if (typeof code !== 'string' || !(IDENTITY_STATUSES as readonly string[]).includes(code)) return patient;
  return { ...patient, extension: [...extensions, { url: RELIABILITY_INS_URL, valueCode: RELIABILITY_OF_STATUS[code] }] };
}

/** A v2 participant named by Lifen's extension and referencing no one: the name becomes the actor's display. */
function namedParticipant(participant: unknown): unknown {
  const named = arrayOf((participant as Json | undefined)?.extension).find((extension) => PARTICIPANT_NAME_URLS.has(String((extension as Json)?.url))) as Json | undefined;
  if (!named || typeof named.valueString !== 'string' || (participant as Json).actor !== undefined) return participant;
  return { ...(participant as Json), actor: { display: named.valueString } };
}

function withLifenRpps(practitioner: Json): Json {
  const identifiers = arrayOf(practitioner.identifier) as Json[];
  const rpps = identifiers.filter((identifier) => identifier.system === RPPS);
  return { ...practitioner, identifier: [...identifiers, ...rpps.map((identifier) => ({ system: LIFEN_RPPS_SYSTEM, value: identifier.value }))] };
}

/** The node's channel codings with Lifen's beside them, and the mailbox a delivery used (recipient details) in the medium's text. */
function withLifenMedium(resource: Json): Json {
  const address = (arrayOf(resource.recipient) as Json[])
    .flatMap((recipient) => arrayOf(recipient.extension) as Json[])
    .find((extension) => extension.url === RECIPIENT_DETAILS_URL)?.valueContactPoint as Json | undefined;
  return {
    ...resource,
    medium: arrayOf(resource.medium).map((medium) => {
      const codings = arrayOf((medium as Json).coding) as Json[];
      const lifen = codings.flatMap((coding) => (coding.system === CHANNEL_SYSTEM && MEDIUM_OF_CHANNEL[String(coding.code)] ? [{ system: LIFEN_MEDIUM_SYSTEM, code: MEDIUM_OF_CHANNEL[String(coding.code)] }] : []));
      if (lifen.length === 0) return medium;
      return { ...(medium as Json), coding: [...codings, ...lifen], ...(typeof address?.value === 'string' && (medium as Json).text === undefined ? { text: address.value } : {}) };
    }),
  };
}
