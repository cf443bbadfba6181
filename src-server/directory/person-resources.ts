import { CODE_SYSTEMS, genderOf, IDENTIFIER_SYSTEMS, namePrefix } from './codes';
import { organizationId, practitionerId, practitionerRoleId } from './ids';
import type { ActivityRecord } from './layouts';

/**
 * A person's activity lines (one per activity, the same person on several lines) → one Practitioner, a
 * PractitionerRole per activity and an Organization per site. Pure: the same lines always give the same resources,
 * keys in the same order, which is what lets a re-import tell unchanged resources by their JSON text.
 */

export type Resource = Record<string, unknown> & { resourceType: string; id: string };

export interface PersonResources {
  practitioner: Resource;
  roles: Resource[];
  organizations: Resource[];
}

type Coding = { system: string; code: string; display?: string };
type Concept = { coding: Coding[] };

/** Drops undefined values and empty arrays, so absent data leaves no empty element (FHIR forbids them). */
function compact<T extends Record<string, unknown>>(object: T): T {
  for (const key of Object.keys(object)) {
    const value = object[key];
    if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) delete object[key];
  }
  return object;
}

const coding = (system: string, code: string, display: string): Coding | undefined =>
  code ? compact({ system, code, display: display || undefined }) : undefined;

const concept = (system: string, code: string, display: string): Concept | undefined => {
  const first = coding(system, code, display);
  return first && { coding: [first] };
};

const defined = <T>(values: Array<T | undefined>): T[] => values.filter((value): value is T => value !== undefined);

const uniqueBy = <T>(values: T[], key: (value: T) => string): T[] => [...new Map(values.map((value) => [key(value), value])).values()];

const conceptKey = (value: Concept) => `${value.coding[0].system}|${value.coding[0].code}`;

export function mapPerson(lines: ActivityRecord[]): PersonResources {
  const first = lines[0];
  const practitioner = mapPractitioner(first, lines);
  const organizations = new Map<string, Resource>();
  const roles = new Map<string, Resource>();
  for (const line of lines) {
    const organization = mapOrganization(line);
    if (organization && !organizations.has(organization.id)) organizations.set(organization.id, organization);
    const role = mapRole(line, practitioner, organization);
    const known = roles.get(role.id);
    // Two lines of one activity that differ only by savoir-faire: one role with both specialties.
    if (!known) roles.set(role.id, role);
    else if (role.specialty) known.specialty = uniqueBy([...((known.specialty as Concept[]) ?? []), ...(role.specialty as Concept[])], conceptKey);
  }
  return { practitioner, roles: [...roles.values()], organizations: [...organizations.values()] };
}

export function idnpsOf(line: Pick<ActivityRecord, 'idnps' | 'ppIdType' | 'ppId'>): string {
  return line.idnps || `${line.ppIdType}${line.ppId}`;
}

function mapPractitioner(line: ActivityRecord, lines: ActivityRecord[]): Resource {
  const idnps = idnpsOf(line);
  const register = line.ppIdType === '8' ? IDENTIFIER_SYSTEMS.rpps : line.ppIdType === '0' ? IDENTIFIER_SYSTEMS.adeli : undefined;
  const prefix = namePrefix(
    { code: line.practiceCivilityCode, display: line.practiceCivilityLabel },
    { code: line.civilityCode, display: line.civilityLabel },
  );
  const qualifications = uniqueBy(
    defined(lines.flatMap((activity) => [
      concept(CODE_SYSTEMS.profession, activity.professionCode, activity.professionLabel),
      concept(CODE_SYSTEMS.specialty, activity.specialtyCode, activity.specialtyLabel),
    ])),
    conceptKey,
  );
  return compact({
    resourceType: 'Practitioner',
    id: practitionerId(idnps),
    identifier: defined([
      register && line.ppId ? { system: register, value: line.ppId } : undefined,
      { system: IDENTIFIER_SYSTEMS.idnps, value: idnps },
    ]),
    active: true,
    name: [compact({ use: 'official', family: line.familyName, given: defined([line.givenName || undefined]), prefix: defined([prefix]) })],
    gender: genderOf(line.civilityCode),
    qualification: qualifications.map((code) => ({ code })),
  });
}

function mapOrganization(line: ActivityRecord): Resource | undefined {
  const id = organizationId(line);
  if (!id) return undefined;
  const name = line.siteName || line.siteBrand || line.addressRecipient;
  const address = mapAddress(line);
  return compact({
    resourceType: 'Organization',
    id,
    identifier: defined([
      line.structureTechnicalId ? { system: IDENTIFIER_SYSTEMS.structureTechnicalId, value: line.structureTechnicalId } : undefined,
      line.formerStructureId ? { system: IDENTIFIER_SYSTEMS.idnst, value: line.formerStructureId } : undefined,
      line.finess ? { system: IDENTIFIER_SYSTEMS.finess, value: line.finess } : undefined,
      line.siret ? { system: IDENTIFIER_SYSTEMS.siret, value: line.siret } : undefined,
      line.siren ? { system: IDENTIFIER_SYSTEMS.siren, value: line.siren } : undefined,
    ]),
    active: true,
    type: defined([concept(CODE_SYSTEMS.activitySector, line.sectorCode, line.sectorLabel)]),
    name: name || undefined,
    alias: line.siteBrand && line.siteBrand !== name ? [line.siteBrand] : undefined,
    telecom: mapTelecom(line),
    address: address && [address],
  });
}

function mapRole(line: ActivityRecord, practitioner: Resource, organization: Resource | undefined): Resource {
  const key = [organization?.id ?? '', line.professionCode, line.categoryCode, line.modeCode, line.sectorCode, line.roleCode, line.activityKindCode];
  return compact({
    resourceType: 'PractitionerRole',
    id: practitionerRoleId(practitioner.id, key),
    active: true,
    practitioner: { reference: `Practitioner/${practitioner.id}` },
    organization: organization && compact({ reference: `Organization/${organization.id}`, display: organization.name as string | undefined }),
    code: defined([
      concept(CODE_SYSTEMS.profession, line.professionCode, line.professionLabel),
      concept(CODE_SYSTEMS.professionalCategory, line.categoryCode, line.categoryLabel),
      concept(CODE_SYSTEMS.practiceMode, line.modeCode, line.modeLabel),
      concept(CODE_SYSTEMS.activitySector, line.sectorCode, line.sectorLabel),
      concept(CODE_SYSTEMS.role, line.roleCode, line.roleLabel),
      concept(CODE_SYSTEMS.activityKind, line.activityKindCode, line.activityKindLabel),
    ]),
    specialty: defined([concept(CODE_SYSTEMS.specialty, line.specialtyCode, line.specialtyLabel)]),
    telecom: mapTelecom(line),
  });
}

function mapTelecom(line: ActivityRecord): Array<{ system: string; value: string; use: 'work' }> {
  const points: Array<[string, string]> = [
    ['phone', line.phone],
    ['phone', line.phone2],
    ['fax', line.fax],
    ['email', line.email],
  ];
  return uniqueBy(
    points.filter(([, value]) => value).map(([system, value]) => ({ system, value, use: 'work' as const })),
    (point) => `${point.system}|${point.value}`,
  );
}

function mapAddress(line: ActivityRecord): Record<string, unknown> | undefined {
  const street = [line.streetNumber, line.streetRepeat, line.streetTypeLabel || line.streetTypeCode, line.streetName].filter(Boolean).join(' ');
  // "Bureau cedex" is "<postal code> <office>": the office stands for the city when the commune is not given.
  const city = line.communeLabel || line.cedexOffice.replace(/^\d{4,5}\s+/, '');
  const address = compact({
    use: 'work',
    line: [line.addressPoint, street, line.distribution].filter(Boolean),
    city: city || undefined,
    district: line.departmentLabel || undefined,
    postalCode: line.postalCode || undefined,
    country: line.countryLabel || line.countryCode || undefined,
  });
  return Object.keys(address).length > 1 ? address : undefined;
}
