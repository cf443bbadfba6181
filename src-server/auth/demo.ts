import type { Repository } from '../store/repository';
import { startOidcProvider, type ProviderAccount, type RunningProvider } from './demo-provider';
import { IDNPS_SYSTEM, RPPS_SYSTEM } from './practitioner-link';
import type { Role, Users } from './users';

/**
 * `liaison serve --demo`: a local identity provider with two practices' people, and the directory entries and user
 * rights that let them log in and work at once. Seeding is idempotent: directory resources are written once
 * (through the repository, like an import), and the demo users keep fixed ids that follow the provider to its new
 * address at each start.
 */

interface DemoPerson {
  login: string;
  givenName: string;
  familyName: string;
  email: string;
  /** Practitioners only: their (fictitious) RPPS number; Pro Santé Connect gives IDNPS = "8" + RPPS. */
  rpps?: string;
  practice: DemoPractice;
  roles: Role[];
}

interface DemoPractice {
  id: string;
  name: string;
  city: string;
}

export const DEMO_PASSWORD = 'demo';

const LILAS: DemoPractice = { id: 'demo-cabinet-des-lilas', name: 'Cabinet des Lilas', city: 'Lyon' };
const PORT: DemoPractice = { id: 'demo-maison-de-sante-du-port', name: 'Maison de santé du Port', city: 'Marseille' };

const PEOPLE: readonly DemoPerson[] = [
  { login: 'claire.martin', givenName: 'Claire', familyName: 'Martin', email: 'claire.martin@lilas.example', rpps: '19900000001', practice: LILAS, roles: ['practitioner', 'admin'] },
  { login: 'paul.durand', givenName: 'Paul', familyName: 'Durand', email: 'paul.durand@lilas.example', rpps: '19900000002', practice: LILAS, roles: ['practitioner'] },
  { login: 'amina.benali', givenName: 'Amina', familyName: 'Benali', email: 'amina.benali@port.example', rpps: '19900000003', practice: PORT, roles: ['practitioner'] },
  { login: 'sophie.leroy', givenName: 'Sophie', familyName: 'Leroy', email: 'sophie.leroy@lilas.example', practice: LILAS, roles: ['staff'] },
];

export interface DemoAccount {
  login: string;
  password: string;
  displayName: string;
  description: string;
}

export interface RunningDemo {
  provider: RunningProvider;
  accounts: DemoAccount[];
}

const idnpsOf = (person: DemoPerson) => (person.rpps ? `8${person.rpps}` : undefined);
const practitionerIdOf = (person: DemoPerson) => (person.rpps ? `demo-${person.login.replace('.', '-')}` : undefined);
const displayNameOf = (person: DemoPerson) => `${person.rpps ? 'Dr ' : ''}${person.givenName} ${person.familyName}`;

/** Starts the demo provider and seeds what its people need on this node. */
export async function startDemo(repository: Repository, users: Users): Promise<RunningDemo> {
  const provider = await startOidcProvider(PEOPLE.map(providerAccount));
  seedDirectory(repository);
  for (const person of PEOPLE) {
    users.seed({
      id: `demo-${person.login}`,
      issuer: provider.issuer,
      subject: person.login,
      idnps: idnpsOf(person),
      email: person.email,
      displayName: displayNameOf(person),
      practitionerId: practitionerIdOf(person),
      roles: person.roles,
      organizations: [person.practice.id],
    });
  }
  return {
    provider,
    accounts: PEOPLE.map((person) => ({
      login: person.login,
      password: DEMO_PASSWORD,
      displayName: displayNameOf(person),
      description: `${person.rpps ? `practitioner (RPPS ${person.rpps})` : 'secretary'}, ${person.practice.name}${person.roles.includes('admin') ? ', admin' : ''}`,
    })),
  };
}

function providerAccount(person: DemoPerson): ProviderAccount {
  const idnps = idnpsOf(person);
  return {
    login: person.login,
    password: DEMO_PASSWORD,
    claims: {
      name: displayNameOf(person),
      given_name: person.givenName,
      family_name: person.familyName,
      email: person.email,
      ...(idnps ? { SubjectNameID: idnps } : {}),
    },
  };
}

function seedDirectory(repository: Repository): void {
  const resources: Array<Record<string, unknown> & { resourceType: string; id: string }> = [];
  for (const practice of [LILAS, PORT]) {
    resources.push({ resourceType: 'Organization', id: practice.id, active: true, name: practice.name, address: [{ city: practice.city, country: 'FR' }] });
  }
  for (const person of PEOPLE) {
    const id = practitionerIdOf(person);
    if (!id || !person.rpps) continue;
    resources.push({
      resourceType: 'Practitioner',
      id,
      active: true,
      identifier: [
        { system: RPPS_SYSTEM, value: person.rpps },
        { system: IDNPS_SYSTEM, value: `8${person.rpps}` },
      ],
      name: [{ family: person.familyName, given: [person.givenName], prefix: ['Dr'] }],
      telecom: [{ system: 'email', value: person.email }],
    });
    resources.push({
      resourceType: 'PractitionerRole',
      id: `${id}-role`,
      active: true,
      practitioner: { reference: `Practitioner/${id}` },
      organization: { reference: `Organization/${person.practice.id}` },
    });
  }
  repository.transaction(() => {
    for (const { resourceType, id, ...body } of resources) {
      if (!repository.exists(resourceType, id)) repository.update(resourceType, id, { resourceType, id, ...body });
    }
  });
}
