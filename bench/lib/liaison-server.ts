import { readFileSync } from 'node:fs';
import { loadHeadlessDataKey, newDataKey } from '../../src-server/data-key';
import { MAX_RATE_LIMIT, setClientRateLimit } from '../../src-server/auth/clients';
import { startNode } from '../../src-server/node';
import { seedPatients } from './patients';
import { serveUntilStopped } from './server-process';

/** Child process: a real Liaison node (the composition root the CLI uses), seeded, with an owner token. */

await serveUntilStopped(async (config) => {
  const node = await startNode({ dataDir: config.dataDir, dataKey: config.headlessKey ? await loadHeadlessDataKey(config.dataDir) : newDataKey(), host: '127.0.0.1', port: 0, logger: false });
  // Seeding goes through the repository (validation and versioning included), in one transaction for speed.
  const patients = seedPatients(config.patients);
  node.repository.transaction(() => {
    for (const patient of patients) node.repository.create('Patient', patient, patient.id);
  });
  const credentials = JSON.parse(readFileSync(node.ownerClientFile, 'utf8')) as { client_id: string; client_secret: string };
  // The benches measure the node, not its rate limit: the admin raises the owner's 10 calls a second.
  setClientRateLimit(node.db, credentials.client_id, MAX_RATE_LIMIT);
  const response = await fetch(`${node.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...credentials }),
  });
  if (!response.ok) throw new Error(`POST /oauth/token answered ${response.status}`);
  const { access_token: token } = (await response.json()) as { access_token: string };
  return {
    info: {
      base: `${node.url}/fhir`,
      headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
      contentType: 'application/fhir+json',
    },
    close: () => node.close(),
  };
});
