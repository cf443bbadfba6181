import type { AuthModule } from '../auth/module';
import { wrapWithPassphrase, type PassphraseWrapped } from '../data-key';
import { refusal } from '../fhir/outcome';
import type { NodeModule } from '../rest/extensions';
import type { Store } from '../store/store';
import type { PeerStore } from '../sync/peers';
import { FirstRun } from './first-run';
import { JoinCodes, joinOffice } from './join';

/**
 * A data folder's first run (docs/login.md): the set-up code and the practice with its first admin, or a desktop
 * joining its office as a colleague's copy of their account; and the join codes an office gives its colleagues.
 */

export interface SetupModule extends NodeModule {
  firstRun: FirstRun;
  joinCodes: JoinCodes;
  /** This desktop joins the office at `officeUrl` with the code a colleague's admin gave (setup/join.ts). */
  joinOffice(officeUrl: unknown, code: unknown): ReturnType<typeof joinOffice>;
  /**
   * The recovery kit the set-up screen offers to download (docs/security.md): the data key wrapped by a passphrase the
   * admin chooses, 12 characters at least.
   */
  recoveryKit(passphrase: unknown): PassphraseWrapped;
}

const MIN_KIT_PASSPHRASE = 12;

export function setupModule(store: Store, auth: Pick<AuthModule, 'users' | 'accounts' | 'identity'>, peers: PeerStore, dataKey: Buffer, dataDir: string): SetupModule {
  const { users, accounts, identity } = auth;
  const { repository, groupCommit } = store;
  return {
    firstRun: new FirstRun({ users, accounts, repository, groupCommit, identity }),
    joinCodes: new JoinCodes(store.db, users, accounts, repository),
    joinOffice: (officeUrl, code) => joinOffice(officeUrl, code, { users, accounts, repository, groupCommit, peers, dataDir }),
    recoveryKit(passphrase) {
      if (typeof passphrase !== 'string' || passphrase.trim().length < MIN_KIT_PASSPHRASE) {
        throw refusal(400, 'invalid-request', `The recovery kit's passphrase needs ${MIN_KIT_PASSPHRASE} characters at least`, 'passphrase');
      }
      return wrapWithPassphrase(dataKey, passphrase, { nodeId: repository.nodeId });
    },
  };
}
