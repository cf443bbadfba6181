import type { Repository } from '../store/repository';
import { IDNPS_SYSTEM, RPPS_SYSTEM } from './practitioner-link';
import type { User } from './users';

/**
 * What an app's ID token says of the user (app-login.ts): their name and the health-professional claims the node
 * knows, in the shapes Pro Santé Connect's userinfo uses (so that an app built for PSC reads them unchanged):
 * `SubjectNameID` (the IDNPS) and `SubjectRole` (their professions, `<TRE_G15 code>^1.2.250.1.213.1.1.5.5`), with
 * `given_name`/`family_name` from their directory Practitioner; then what PSC does not carry flat: `rpps`,
 * `profession` and their practices' identifiers (`practices`: FINESS and SIRET where the Organization has them).
 */

const PROFESSION_SYSTEM = 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante';
/** The OID of TRE_G15, which PSC's SubjectRole values carry after the code. */
const PROFESSION_OID = '1.2.250.1.213.1.1.5.5';
const FINESS_SYSTEM = 'https://finess.esante.gouv.fr';
const SIRET_SYSTEM = 'https://sirene.fr';

type Json = Record<string, any>;

const parse = (stored: { json: string } | undefined): Json | undefined => (stored ? (JSON.parse(stored.json) as Json) : undefined);
const identifier = (resource: Json | undefined, system: string): string | undefined =>
  (resource?.identifier as Json[] | undefined)?.find((one) => one.system === system && typeof one.value === 'string')?.value as string | undefined;

export function identityClaims(user: User, repository: Repository, issuer: string): Record<string, unknown> {
  const practitioner = user.practitionerId ? parse(repository.read('Practitioner', user.practitionerId)) : undefined;
  const name = (practitioner?.name as Json[] | undefined)?.[0];
  const rpps = identifier(practitioner, RPPS_SYSTEM);
  const idnps = user.idnps ?? identifier(practitioner, IDNPS_SYSTEM) ?? (rpps ? `8${rpps}` : undefined);
  const professions = ((practitioner?.qualification as Json[] | undefined) ?? [])
    .flatMap((qualification) => (qualification.code?.coding as Json[] | undefined) ?? [])
    .filter((coding) => coding.system === PROFESSION_SYSTEM && typeof coding.code === 'string');
  const practices = user.organizations.flatMap((id) => {
    const organization = parse(repository.read('Organization', id));
    if (!organization) return [];
    const finess = identifier(organization, FINESS_SYSTEM);
    const siret = identifier(organization, SIRET_SYSTEM);
    return [{ id, ...(organization.name ? { name: organization.name } : {}), ...(finess ? { finess } : {}), ...(siret ? { siret } : {}) }];
  });
  return {
    name: user.displayName,
    ...(typeof name?.family === 'string' ? { family_name: name.family } : {}),
    ...(Array.isArray(name?.given) && name.given.length > 0 ? { given_name: name.given.join(' ') } : {}),
    ...(user.email ? { email: user.email } : {}),
    ...(idnps ? { SubjectNameID: idnps, preferred_username: idnps } : {}),
    ...(professions.length > 0 ? { SubjectRole: professions.map((coding) => `${coding.code}^${PROFESSION_OID}`) } : {}),
    ...(rpps ? { rpps } : {}),
    ...(professions.length > 0 ? { profession: { code: professions[0].code, ...(professions[0].display ? { display: professions[0].display } : {}) } } : {}),
    // SMART's fhirUser: the user's resource, as an absolute URL on this node's FHIR base.
    ...(user.practitionerId ? { practitioner: `Practitioner/${user.practitionerId}`, fhirUser: `${issuer}/fhir/Practitioner/${user.practitionerId}` } : {}),
    ...(practices.length > 0 ? { practices } : {}),
  };
}
