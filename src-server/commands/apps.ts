import type { Command } from 'commander';
import { createApp, disableApp, listApps, removeApp, type AppCredentials, type AppInfo, type NewApp } from '../auth/apps';
import { signingKeys } from '../auth/signing-key';
import { readFolder, withDataFolder } from '../folder-access';
import { DEFAULT_RATE_LIMIT } from '../http/rate-limit';

/**
 * `liaison apps add|list|disable|remove|rotate-key`: the software whose users log in through the node (auth/apps.ts, docs/login.md
 * "Apps"). While a node serves the folder, changes go through its admin API (so a disabled app's tokens stop at once);
 * otherwise on the folder directly. Registered by cli.ts.
 */

export function registerAppCommands(program: Command, defaultDataDir: string): void {
  const apps = program.command('apps').description('manage the apps whose users log in through the node (authorization code flow)');
  apps
    .command('add')
    .description("register an app and print its client id (and a confidential app's secret, shown this once)")
    .requiredOption('--name <name>', 'what the app is, e.g. "Téléexpertise"')
    .requiredOption('--redirect-uri <uri...>', 'exact https:// URIs, or http://127.0.0.1/… or http://[::1]/… (any port)')
    .requiredOption('--scope <scope...>', 'what it may ask its users for: <TYPE>_READ, _SEARCH, _CREATE or _UPDATE')
    .option('--public', 'a browser or desktop app that keeps no secret (PKCE only)')
    .option('--rate-limit <calls>', `calls per second for each of its users (default ${DEFAULT_RATE_LIMIT})`, Number)
    .option('--data <dir>', 'data directory', defaultDataDir)
    .action(async (options: { name: string; redirectUri: string[]; scope: string[]; public?: boolean; rateLimit?: number; data: string }) => {
      const app: NewApp = {
        name: options.name,
        redirectUris: options.redirectUri,
        scopes: options.scope.join(' ').split(/\s+/).filter(Boolean),
        public: options.public === true,
        ...(options.rateLimit !== undefined ? { rateLimit: options.rateLimit } : {}),
      };
      const credentials = await withDataFolder(options.data, {
        direct: (db) => createApp(db, app),
        served: (api) => api.call<AppCredentials>('POST', '/admin/apps', app),
      });
      console.log(JSON.stringify(credentials, null, 2));
      if (credentials.client_secret) console.error('Keep the secret now: it is stored hashed and cannot be shown again.');
    });
  apps
    .command('list')
    .description('list the apps (never their secrets)')
    .option('--data <dir>', 'data directory', defaultDataDir)
    .action((options: { data: string }) =>
      readFolder(options.data, (db) => {
        for (const app of listApps(db)) {
          const status = app.disabledAt ? `disabled ${app.disabledAt}` : 'active';
          console.log(`${app.clientId}  ${app.public ? 'public      ' : 'confidential'}  ${status}  ${app.name}  [${app.scopes.join(' ')}]  ${app.redirectUris.join(' ')}`);
        }
      }),
    );
  apps
    .command('disable <clientId>')
    .description('disable an app: every grant its users gave it ends, its tokens stop')
    .option('--data <dir>', 'data directory', defaultDataDir)
    .action(async (clientId: string, options: { data: string }) => {
      await withDataFolder(options.data, {
        direct: (db) => disableApp(db, clientId),
        served: (api) => api.call<AppInfo>('POST', `/admin/apps/${encodeURIComponent(clientId)}/disable`),
      });
      console.log(`App ${clientId} disabled.`);
    });
  apps
    .command('remove <clientId>')
    .description('remove an app and everything it held')
    .option('--data <dir>', 'data directory', defaultDataDir)
    .action(async (clientId: string, options: { data: string }) => {
      await withDataFolder(options.data, {
        direct: (db) => removeApp(db, clientId),
        served: (api) => api.call<AppInfo>('DELETE', `/admin/apps/${encodeURIComponent(clientId)}`),
      });
      console.log(`App ${clientId} removed.`);
    });
  apps
    .command('rotate-key')
    .description("sign apps' ID tokens with a new key from now on (the previous one stays published until its tokens expire)")
    .option('--data <dir>', 'data directory', defaultDataDir)
    .action(async (options: { data: string }) => {
      const { kid } = await withDataFolder(options.data, {
        direct: async (_db, dataDir) => ({ kid: (await (await signingKeys(dataDir)).rotate()).publicJwk.kid }),
        served: (api) => api.call<{ kid: string }>('POST', '/admin/signing-keys/rotate'),
      });
      console.log(`ID tokens are now signed with key ${kid}.`);
    });
}
