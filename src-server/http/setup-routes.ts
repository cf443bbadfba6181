import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/audit-log';
import { FailedAttempts } from '../auth/failed-attempts';
import { Scopes } from '../auth/scopes';
import { testIdentitySettings } from '../auth/identity';
import { IDENTIFIER_SYSTEMS } from '../directory/codes';
import { isJson } from '../fhir/json';
import { FhirError, refusal } from '../fhir/outcome';
import type { FhirApi } from '../rest/fhir-api';
import type { FhirRequest } from '../rest/types';
import { SETUP_CODE_HEADER } from '../setup/first-run';
import type { JoinCodes } from '../setup/join';
import type { SetupModule } from '../setup/module';

/**
 * The first run (setup/first-run.ts, docs/login.md "Set-up"), every request with the set-up code in
 * `X-Liaison-Setup-Code`, and no bearer (nobody can log in yet):
 * - `POST /setup {practice, admin, identity}` → 201 `{userId, organizationId}`;
 * - `GET /setup/practices?finess=…|siret=…|name=…` → a searchset Bundle of the directory's Organizations;
 * - `GET /setup/practitioners?rpps=…|name=…` → a searchset Bundle of the directory's Practitioners (the admin's own);
 * - `POST /setup/identity/test` → as `POST /admin/identity/test`: the set-up screen's "test the provider";
 * - `POST /setup/recovery-kit {passphrase}` → the data key's recovery kit (data-key.ts), to keep away from the computer;
 * - `POST /setup/join {officeUrl, code}` → 201 `{userId, login?, peerId}`: this desktop joins an office (setup/join.ts).
 * And the office's side of a join, `POST /sync/join {code, nodeId}` (no bearer: the join code is the credential).
 */

export interface SetupRoutesOptions {
  setup: SetupModule;
  /** The FHIR API the directory searches run on (text filters included). */
  api: FhirApi;
  audit: AuditLog;
}

/** Directory entries a set-up search lists. */
const LISTED = 20;

export async function setupRoutes(app: FastifyInstance, { setup, api, audit }: SetupRoutesOptions): Promise<void> {
  const { firstRun } = setup;
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('cache-control', 'no-store');
    done(null, payload);
  });
  app.addHook('preHandler', async (request) => firstRun.checkCode(request.headers[SETUP_CODE_HEADER], request.ip));

  app.post('/', async (request, reply) => {
    const done = await firstRun.run(request.body);
    audit.record('setup', `user:${done.userId}`, 'POST', '/setup', 201);
    return reply.code(201).send(done);
  });

  /** A search of the directory for the set-up screen (no token yet): only Organizations and Practitioners, 20 at most. */
  const searchDirectory = async (request: FastifyRequest, type: 'Organization' | 'Practitioner', query: URLSearchParams) => {
    query.set('_count', String(LISTED));
    const search: FhirRequest = { scopes: new Scopes([`${type.toUpperCase()}_SEARCH`]), method: 'GET', path: type, query };
    const answer = await api.answer(search, `${request.protocol}://${request.host}/fhir`);
    return typeof answer.body === 'string' ? JSON.parse(answer.body) : answer.body;
  };
  const byName = (name: string | undefined) => {
    if (!name || name.trim().length < 2) throw refusal(400, 'invalid-request', 'Search by identifier or by name (2 letters at least)', 'name');
    return name.trim();
  };

  app.get<{ Querystring: Record<string, string | undefined> }>('/practices', async (request) => {
    const { finess, siret, name } = request.query;
    const query = new URLSearchParams();
    if (finess) query.set('identifier', `${IDENTIFIER_SYSTEMS.finess}|${finess.replace(/\s/g, '')}`);
    else if (siret) query.set('identifier', `${IDENTIFIER_SYSTEMS.siret}|${siret.replace(/\s/g, '')}`);
    else query.set('name', byName(name));
    return searchDirectory(request, 'Organization', query);
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/practitioners', async (request) => {
    const { rpps, name } = request.query;
    const query = new URLSearchParams();
    if (rpps) query.set('identifier', `${IDENTIFIER_SYSTEMS.rpps}|${rpps.replace(/\s/g, '')}`);
    else query.set('name', byName(name));
    return searchDirectory(request, 'Practitioner', query);
  });

  app.post('/identity/test', async (request) => testIdentitySettings(request.body));

  /** The recovery kit, while the set-up code is valid: a JSON file the screen saves (docs/security.md). */
  app.post('/recovery-kit', async (request) => {
    const passphrase = isJson(request.body) ? request.body.passphrase : undefined;
    const kit = setup.recoveryKit(passphrase);
    audit.record('setup', undefined, 'POST', '/setup/recovery-kit', 200);
    return kit;
  });

  app.post('/join', async (request, reply) => {
    const body = isJson(request.body) ? request.body : {};
    const joined = await setup.joinOffice(body.officeUrl, body.code);
    firstRun.finished();
    audit.record('setup', `user:${joined.userId}`, 'POST', '/setup/join', 201);
    return reply.code(201).send(joined);
  });
}

/** `POST /sync/join`: the office's side of a desktop joining it. Wrong codes are held back per source. */
export async function syncJoinRoutes(app: FastifyInstance, { joinCodes }: { joinCodes: JoinCodes }): Promise<void> {
  const failures = new FailedAttempts();
  app.post('/join', async (request: FastifyRequest, reply) => {
    try {
      return reply.header('cache-control', 'no-store').send(joinCodes.join(request.body));
    } catch (error) {
      if (error instanceof FhirError && error.status === 401) await failures.holdBack(request.ip);
      throw error;
    }
  });
}
