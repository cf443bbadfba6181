import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Identity } from '../auth/identity';
import { checkLogin, checkNewPassword, type LocalAccounts } from '../auth/local-accounts';
import type { Role, Users } from '../auth/users';
import { FailedAttempts } from '../auth/failed-attempts';
import { hashSecret } from '../auth/scrypt-hash';
import { IDENTIFIER_SYSTEMS } from '../directory/codes';
import { isJson, type Json } from '../fhir/json';
import { refusal } from '../fhir/outcome';
import type { GroupCommit } from '../store/group-commit';
import type { Repository } from '../store/repository';

/**
 * The first run of a data folder (docs/login.md, "Set-up"): while it has no user at all, whoever holds the set-up code
 * may create the practice, its first administrator (a local account) and the identity provider, in one request. The
 * code is made at each start while the folder has no user and kept in memory only: `liaison serve` prints it, the
 * desktop node hands it to its window, and node.json (the owner's only) carries it. Once a user exists the set-up is
 * closed for good (409 `setup-done`), whoever has the code.
 */

/** The header that carries the set-up code. */
export const SETUP_CODE_HEADER = 'x-liaison-setup-code';
/** The tag of the practice Organizations a node made itself (not from the directory, whose imports never archive them). */
export const NODE_PRACTICE_TAG = { system: 'https://liaison.example/fhir/CodeSystem/origin', code: 'node-practice', display: 'Cabinet créé sur ce nœud' };
/** Ids of the practices a node makes: outside the directory's `st-` range, so an import never archives them. */
const PRACTICE_ID_PREFIX = 'practice-';
const MAX_TEXT = 200;

export interface SetupBody {
  practice: { organizationId: string } | { name: string; finess?: string; siret?: string; address?: { line: string; postalCode: string; city: string } };
  admin: { login: string; password: string; displayName: string; practitionerId?: string };
  identity: unknown;
}

export interface FirstRunServices {
  users: Users;
  accounts: LocalAccounts;
  repository: Repository;
  groupCommit: GroupCommit;
  identity: Identity;
}

export class FirstRun {
  private code: string | undefined;
  private readonly failures = new FailedAttempts();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly services: FirstRunServices) {
    if (!services.users.any()) this.code = randomBytes(18).toString('base64url');
  }

  /** Whether the data folder still has no user. */
  get open(): boolean {
    return !this.services.users.any();
  }

  /** The code `POST /setup` needs, while the set-up is open. */
  get setupCode(): string | undefined {
    return this.open ? this.code : undefined;
  }

  /** Told once the set-up is done (by this request or by a desktop joining its office). */
  onDone(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** 409 `setup-done` once anyone exists; 401 `setup-code` (held back for the source) for a wrong or missing code. */
  async checkCode(code: unknown, source: string): Promise<void> {
    if (!this.open || !this.code) throw refusal(409, 'setup-done', 'This node is set up already: log in, or ask its administrator');
    const given = Buffer.from(typeof code === 'string' ? code : '');
    const expected = Buffer.from(this.code);
    if (given.length === expected.length && timingSafeEqual(given, expected)) return;
    await this.failures.holdBack(source);
    throw refusal(401, 'setup-code', `The set-up code is missing or wrong: it is in the address the node printed, and in node.json (header ${SETUP_CODE_HEADER})`);
  }

  /** The practice, its first admin and the identity provider, from the set-up screen: `{ userId, organizationId }`. */
  async run(body: unknown): Promise<{ userId: string; organizationId: string }> {
    if (!isJson(body)) throw refusal(400, 'invalid-request', 'Send { "practice", "admin", "identity" }');
    const admin = isJson(body.admin) ? body.admin : {};
    const login = checkLogin(admin.login, 'admin.login');
    const password = checkNewPassword(admin.password, 'admin.password');
    const displayName = typeof admin.displayName === 'string' ? admin.displayName.trim() : '';
    if (displayName === '' || displayName.length > MAX_TEXT) throw refusal(400, 'display-name-missing', `The administrator needs a name of 1 to ${MAX_TEXT} characters`, 'admin.displayName');
    const practitionerId = admin.practitionerId === undefined || admin.practitionerId === null ? undefined : String(admin.practitionerId);
    const practice = this.practiceOf(body.practice);
    const { repository, users, accounts, groupCommit, identity } = this.services;
    if (practitionerId !== undefined && !repository.exists('Practitioner', practitionerId)) {
      throw refusal(422, 'practitioner-unknown', `No Practitioner '${practitionerId}' in the directory`, 'admin.practitionerId');
    }
    // Checked and saved first: a refused provider writes nothing else, and a set-up that fails later can be sent again.
    // None given: what the installer shipped (or local accounts only) stays.
    if (body.identity !== undefined) identity.save(body.identity);
    const passwordHash = await hashSecret(password);
    const roles: Role[] = practitionerId ? ['admin', 'practitioner'] : ['admin', 'staff'];
    const done = await groupCommit.run(
      () => {
        // Checked again inside the transaction: two set-ups sent together make one administrator.
        if (users.any()) throw refusal(409, 'setup-done', 'This node is set up already: log in, or ask its administrator');
        const organizationId = 'organizationId' in practice ? practice.organizationId : this.createPractice(practice.resource);
        const user = users.createLocal({ displayName, roles, organizations: [organizationId], ...(practitionerId ? { practitionerId } : {}) });
        accounts.store(user.id, login, passwordHash, false);
        return { userId: user.id, organizationId };
      },
      { alone: true },
    );
    this.finished();
    return done;
  }

  /** The set-up is done (a user exists): the code stops working, and listeners hear it. */
  finished(): void {
    this.code = undefined;
    for (const listener of this.listeners) listener();
  }

  /** The practice chosen in the directory, or the Organization to make for it. */
  private practiceOf(value: unknown): { organizationId: string } | { resource: Json } {
    if (!isJson(value)) throw refusal(400, 'practice-invalid', 'Send the practice: { "organizationId" } from the directory, or { "name", "finess"?, "siret"?, "address"? }', 'practice');
    if (value.organizationId !== undefined) {
      const id = String(value.organizationId);
      if (!this.services.repository.exists('Organization', id)) throw refusal(422, 'practice-unknown', `No Organization '${id}' in the directory`, 'practice.organizationId');
      return { organizationId: id };
    }
    const name = typeof value.name === 'string' ? value.name.trim() : '';
    if (name === '' || name.length > MAX_TEXT) throw refusal(400, 'practice-invalid', `The practice needs a name of 1 to ${MAX_TEXT} characters`, 'practice.name');
    const identifier: Json[] = [];
    for (const [field, system, digits] of [['finess', IDENTIFIER_SYSTEMS.finess, 9], ['siret', IDENTIFIER_SYSTEMS.siret, 14]] as const) {
      const raw = value[field];
      if (raw === undefined || raw === null || raw === '') continue;
      const number = String(raw).replace(/\s/g, '');
      if (!new RegExp(`^\\d{${digits}}$`).test(number)) throw refusal(400, 'practice-invalid', `A ${field.toUpperCase()} number has ${digits} digits`, `practice.${field}`);
      identifier.push({ system, value: number });
    }
    const address = isJson(value.address) ? addressOf(value.address) : undefined;
    return {
      resource: {
        resourceType: 'Organization',
        meta: { tag: [NODE_PRACTICE_TAG] },
        ...(identifier.length > 0 ? { identifier } : {}),
        active: true,
        name,
        ...(address ? { address: [address] } : {}),
      },
    };
  }

  private createPractice(resource: Json): string {
    const id = `${PRACTICE_ID_PREFIX}${randomUUID()}`;
    this.services.repository.update('Organization', id, { ...resource, id });
    return id;
  }
}

function addressOf(address: Json): Json | undefined {
  const text = (field: string) => {
    const value = address[field];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string' || value.length > MAX_TEXT) throw refusal(400, 'practice-invalid', `practice.address.${field} must be a text of at most ${MAX_TEXT} characters`, `practice.address.${field}`);
    return value.trim();
  };
  const line = text('line');
  const postalCode = text('postalCode');
  const city = text('city');
  if (!line && !postalCode && !city) return undefined;
  return { use: 'work', ...(line ? { line: [line] } : {}), ...(city ? { city } : {}), ...(postalCode ? { postalCode } : {}), country: 'FR' };
}
