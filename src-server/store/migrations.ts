/**
 * Versioned schema migrations. The database's `PRAGMA user_version` is the number of migrations applied;
 * each migration runs once, in its own transaction, in order. Never edit a released migration: append one.
 */
export interface Migration {
  readonly description: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  {
    description: 'versions, current resources, change log, node identity, OAuth clients and tokens',
    sql: `
      -- Facts about this node: its id (origin of the versions minted here), creation time.
      CREATE TABLE node_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;

      -- Every version ever written, immutable. version_id is global (kept unchanged by sync);
      -- vseq is only this node's storage key.
      CREATE TABLE resource_versions (
        vseq          INTEGER PRIMARY KEY,
        version_id    TEXT NOT NULL UNIQUE,
        resource_type TEXT NOT NULL,
        resource_id   TEXT NOT NULL,
        parent_ids    TEXT NOT NULL,          -- JSON array of parent version ids
        origin_node   TEXT NOT NULL,
        last_updated  TEXT NOT NULL,          -- instant, ISO 8601 UTC with milliseconds
        method        TEXT NOT NULL,          -- POST | PUT: how the version was made (history entries)
        body          TEXT NOT NULL           -- the resource JSON, meta included
      );
      CREATE INDEX resource_versions_by_resource ON resource_versions (resource_type, resource_id, vseq);

      -- The current version of each resource: what reads and searches use.
      CREATE TABLE resources (
        resource_type TEXT NOT NULL,
        resource_id   TEXT NOT NULL,
        vseq          INTEGER NOT NULL REFERENCES resource_versions (vseq),
        last_updated  TEXT NOT NULL,
        PRIMARY KEY (resource_type, resource_id)
      ) WITHOUT ROWID;
      -- The default search order (-_lastUpdated) walks this index; vseq breaks ties and leads to the body.
      CREATE INDEX resources_by_type_updated ON resources (resource_type, last_updated, vseq);

      -- Monotonic local sequence of every write: the _history order, the sync cursor, the index outbox.
      -- Rows are never deleted, so a plain rowid key is already monotonic (AUTOINCREMENT would cost a write).
      CREATE TABLE change_log (
        seq           INTEGER PRIMARY KEY,
        vseq          INTEGER NOT NULL REFERENCES resource_versions (vseq),
        resource_type TEXT NOT NULL
      );
      CREATE INDEX change_log_by_type ON change_log (resource_type, seq);

      CREATE TABLE oauth_clients (
        client_id     TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        secret_hash   TEXT NOT NULL,          -- scrypt, "salt:hash" in hex
        scopes        TEXT NOT NULL,          -- space separated
        role          TEXT NOT NULL,          -- owner | client
        created_at    TEXT NOT NULL,
        revoked_at    TEXT
      ) WITHOUT ROWID;

      CREATE TABLE oauth_tokens (
        token_hash    TEXT PRIMARY KEY,       -- sha256 of the bearer token, hex
        client_id     TEXT NOT NULL REFERENCES oauth_clients (client_id),
        scopes        TEXT NOT NULL,
        issued_at     TEXT NOT NULL,
        expires_at    INTEGER NOT NULL,       -- epoch milliseconds
        revoked_at    TEXT
      ) WITHOUT ROWID;
      CREATE INDEX oauth_tokens_by_expiry ON oauth_tokens (expires_at);
    `,
  },
  {
    description: 'search index: one table per search parameter type, rows keyed by the current version (vseq)',
    sql: `
      -- Every (resource type, search parameter) pair gets a small integer id, so index rows stay compact.
      CREATE TABLE search_params (
        pid           INTEGER PRIMARY KEY,
        resource_type TEXT NOT NULL,
        code          TEXT NOT NULL,
        UNIQUE (resource_type, code)
      );

      -- Index rows describe current versions only: an update deletes the rows of the version it replaces.
      -- Absent parts are '' (WITHOUT ROWID keys cannot hold NULL).
      CREATE TABLE idx_string (
        vseq INTEGER NOT NULL, pid INTEGER NOT NULL,
        value TEXT NOT NULL,                   -- normalised: lower case, accents folded
        exact TEXT NOT NULL,                   -- as written, for :exact
        PRIMARY KEY (vseq, pid, exact)
      ) WITHOUT ROWID;
      CREATE INDEX idx_string_lookup ON idx_string (pid, value);

      CREATE TABLE idx_token (
        vseq INTEGER NOT NULL, pid INTEGER NOT NULL,
        system TEXT NOT NULL, code TEXT NOT NULL,
        text TEXT NOT NULL,                    -- normalised display/text, for :text
        PRIMARY KEY (vseq, pid, code, system, text)
      ) WITHOUT ROWID;
      CREATE INDEX idx_token_lookup ON idx_token (pid, code, system);

      CREATE TABLE idx_reference (
        vseq INTEGER NOT NULL, pid INTEGER NOT NULL,
        target_type TEXT NOT NULL, target_id TEXT NOT NULL,
        url TEXT NOT NULL,                     -- absolute or urn references
        PRIMARY KEY (vseq, pid, target_id, target_type, url)
      ) WITHOUT ROWID;
      CREATE INDEX idx_reference_lookup ON idx_reference (pid, target_id, target_type);
      CREATE INDEX idx_reference_by_url ON idx_reference (pid, url) WHERE url <> '';

      CREATE TABLE idx_date (
        vseq INTEGER NOT NULL, pid INTEGER NOT NULL,
        low INTEGER NOT NULL, high INTEGER NOT NULL,   -- epoch ms, [low, high)
        PRIMARY KEY (vseq, pid, low, high)
      ) WITHOUT ROWID;
      CREATE INDEX idx_date_by_low ON idx_date (pid, low);
      CREATE INDEX idx_date_by_high ON idx_date (pid, high);

      CREATE TABLE idx_number (
        vseq INTEGER NOT NULL, pid INTEGER NOT NULL,
        value REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL,
        PRIMARY KEY (vseq, pid, value)
      ) WITHOUT ROWID;
      CREATE INDEX idx_number_lookup ON idx_number (pid, value);

      CREATE TABLE idx_quantity (
        vseq INTEGER NOT NULL, pid INTEGER NOT NULL,
        system TEXT NOT NULL, code TEXT NOT NULL, unit TEXT NOT NULL,
        value REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL,
        PRIMARY KEY (vseq, pid, value, code, system, unit)
      ) WITHOUT ROWID;
      CREATE INDEX idx_quantity_lookup ON idx_quantity (pid, value);

      CREATE TABLE idx_uri (
        vseq INTEGER NOT NULL, pid INTEGER NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (vseq, pid, value)
      ) WITHOUT ROWID;
      CREATE INDEX idx_uri_lookup ON idx_uri (pid, value);

      -- Composite values: the first component as a lookup key, every component as JSON for the final check.
      CREATE TABLE idx_composite (
        vseq INTEGER NOT NULL, pid INTEGER NOT NULL,
        first_key TEXT NOT NULL,
        parts TEXT NOT NULL,
        PRIMARY KEY (vseq, pid, parts)
      ) WITHOUT ROWID;
      CREATE INDEX idx_composite_lookup ON idx_composite (pid, first_key);
    `,
  },
  {
    description: 'search index: rows shared between parameters (string parts), composite parts out of the key, tokens in write order per code; resource counts; client rate limits; audit log',
    sql: `
      -- The search index fingerprint changes with this schema (reindex.ts EXTRACTION_VERSION): the tables are
      -- rebuilt empty here and filled again by the reindex that follows on start.

      -- A string row records the HumanName/Address part it comes from, so that \`family\` reads the family rows
      -- of \`name\` instead of writing its own (fhir/search/shared-rows.ts).
      DROP TABLE idx_string;
      CREATE TABLE idx_string (
        vseq INTEGER NOT NULL, pid INTEGER NOT NULL,
        part TEXT NOT NULL,                    -- 'family', 'city'…; '' for a plain string
        value TEXT NOT NULL,                   -- normalised: lower case, accents folded
        exact TEXT NOT NULL,                   -- as written, for :exact
        PRIMARY KEY (vseq, pid, part, exact)
      ) WITHOUT ROWID;
      CREATE INDEX idx_string_lookup ON idx_string (pid, value);

      -- The parts JSON was in the key, doubling the table's size for nothing: a value's position identifies it.
      DROP TABLE idx_composite;
      CREATE TABLE idx_composite (
        vseq INTEGER NOT NULL, pid INTEGER NOT NULL,
        ord INTEGER NOT NULL,                  -- position among the resource's values of the parameter
        first_key TEXT NOT NULL,
        parts TEXT NOT NULL,
        PRIMARY KEY (vseq, pid, ord)
      ) WITHOUT ROWID;
      CREATE INDEX idx_composite_lookup ON idx_composite (pid, first_key);

      -- With the key (vseq, pid, code, system, text), an index on (pid, code) orders a code's rows by vseq: a
      -- token search reads its page newest first and stops, whatever the number of matches.
      DROP INDEX idx_token_lookup;
      CREATE INDEX idx_token_lookup ON idx_token (pid, code);

      -- Resources per type, kept by the repository in each write's transaction: /health reads it instead of
      -- counting a million resources on every call.
      CREATE TABLE resource_counts (
        resource_type TEXT PRIMARY KEY,
        total         INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO resource_counts (resource_type, total) SELECT resource_type, count(*) FROM resources GROUP BY resource_type;

      -- A client's own rate limit (calls per second), set by an admin; NULL: the default.
      ALTER TABLE oauth_clients ADD COLUMN rate_limit REAL;

      -- Who did what: token issuance and refusals, denied requests, every access to the FHIR API. Append-only.
      CREATE TABLE audit_log (
        seq       INTEGER PRIMARY KEY,
        at        INTEGER NOT NULL,       -- epoch milliseconds
        event     TEXT NOT NULL,          -- token.issued, token.refused, token.revoked, access, access.denied
        client_id TEXT,                   -- the caller, when known
        action    TEXT NOT NULL,          -- e.g. GET /fhir/Patient/123
        status    INTEGER NOT NULL        -- HTTP status of the answer
      );
      CREATE INDEX audit_log_by_client ON audit_log (client_id, seq);
    `,
  },
  {
    description: 'users who log in through OpenID Connect, their sessions and refresh tokens; API clients acting for a user or a practice',
    sql: `
      -- People who log in through the upstream OpenID provider (auth/users.ts). Roles and practices are set by an
      -- admin (or by the demo provider); the directory Practitioner is linked from the national id when there is one.
      CREATE TABLE users (
        user_id         TEXT PRIMARY KEY,
        issuer          TEXT NOT NULL,
        subject         TEXT NOT NULL,          -- the issuer's sub
        idnps           TEXT,                   -- national id of a professional (Pro Santé Connect SubjectNameID)
        email           TEXT,
        display_name    TEXT NOT NULL,
        practitioner_id TEXT,                   -- the directory Practitioner this user is
        roles           TEXT NOT NULL,          -- space separated: practitioner, staff, admin
        organizations   TEXT NOT NULL DEFAULT '', -- space separated ids of the practice Organizations the user belongs to
        created_at      TEXT NOT NULL,
        last_login_at   TEXT,
        disabled_at     TEXT,
        UNIQUE (issuer, subject)
      ) WITHOUT ROWID;

      -- A login: its access and refresh tokens end with it (logout, or an admin disabling the user).
      CREATE TABLE sessions (
        session_id  TEXT PRIMARY KEY,
        user_id     TEXT NOT NULL REFERENCES users (user_id),
        created_at  INTEGER NOT NULL,           -- epoch milliseconds
        expires_at  INTEGER NOT NULL,
        ended_at    INTEGER
      ) WITHOUT ROWID;

      CREATE TABLE refresh_tokens (
        token_hash  TEXT PRIMARY KEY,           -- sha256 of the refresh token, hex
        session_id  TEXT NOT NULL REFERENCES sessions (session_id),
        expires_at  INTEGER NOT NULL,
        used_at     INTEGER                     -- rotated: a second use ends the session (token theft)
      ) WITHOUT ROWID;

      -- Access tokens of a session belong to the built-in public client of the UI.
      ALTER TABLE oauth_tokens ADD COLUMN session_id TEXT REFERENCES sessions (session_id);
      INSERT INTO oauth_clients (client_id, name, secret_hash, scopes, role, created_at)
        VALUES ('liaison-ui', 'Liaison user sessions', '', '', 'ui', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

      -- On whose behalf an API client acts: a practitioner, a practice Organization, or a practitioner within a
      -- practice; neither: the whole node.
      ALTER TABLE oauth_clients ADD COLUMN practitioner_id TEXT;
      ALTER TABLE oauth_clients ADD COLUMN organization_id TEXT;
    `,
  },
  {
    description: 'family and given names of several words, for word-prefix name searches',
    sql: `
      -- Lifen's word-prefix family/given (conditions.ts wordPrefixMatch): a word after the first is found among
      -- the names of several words only, a small share, rather than by testing every name.
      CREATE INDEX idx_string_inner_words ON idx_string (pid, value) WHERE part IN ('family', 'given') AND value GLOB '*[- ''’.,]*';
    `,
  },
  {
    description: 'subscriptions (rest-hook): their owners and secrets, the durable queue of notifications, the change-log cursor',
    sql: `
      -- Node-side state of each Subscription resource, never part of the resource (nor of its history or sync).
      CREATE TABLE subscription_owners (
        subscription_id TEXT PRIMARY KEY,
        reach           TEXT,                   -- JSON [[type, id]…] of whoever last wrote it; NULL: the whole node
        base            TEXT NOT NULL,          -- the FHIR base it was written through (its local references)
        secret          TEXT NOT NULL,          -- whsec_…: signs its notifications (Standard Webhooks)
        failures        INTEGER NOT NULL DEFAULT 0  -- consecutive failed deliveries
      ) WITHOUT ROWID;

      -- Notifications to deliver, in order per subscription; a row is deleted once delivered.
      CREATE TABLE subscription_notifications (
        seq             INTEGER PRIMARY KEY,
        subscription_id TEXT NOT NULL,
        resource_type   TEXT NOT NULL,
        resource_id     TEXT NOT NULL,
        version_id      TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        due_at          INTEGER NOT NULL        -- epoch milliseconds of the next attempt
      );
      CREATE INDEX subscription_notifications_by_subscription ON subscription_notifications (subscription_id, seq);

      -- How far the change log has been matched against the subscriptions: history before them notifies nobody.
      INSERT OR IGNORE INTO node_meta (key, value) VALUES ('subscriptions_cursor', (SELECT coalesce(max(seq), 0) FROM change_log));
    `,
  },
  {
    description: 'document outbox: one durable delivery per CommunicationRequest recipient and channel',
    sql: `
      -- Queued in the transaction that accepts a CommunicationRequest (src-server/documents/outbox.ts); the
      -- Communication of a delivery has the delivery's id. Done rows stay, as the record of what was sent.
      CREATE TABLE document_outbox (
        delivery_id     TEXT PRIMARY KEY,
        request_id      TEXT NOT NULL,            -- the CommunicationRequest
        document_id     TEXT NOT NULL,            -- the DocumentReference it carries
        channel         TEXT NOT NULL,            -- internal | mssante | dpi | dmp
        recipient       TEXT NOT NULL,            -- JSON: { reference?, address?, contained? }
        state           TEXT NOT NULL DEFAULT 'pending', -- pending | done
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,         -- epoch milliseconds
        claimed_at      INTEGER,                  -- set while an attempt runs; a crash leaves it set
        last_error      TEXT,
        created_at      INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX document_outbox_due ON document_outbox (next_attempt_at) WHERE state = 'pending';
      CREATE INDEX document_outbox_by_request ON document_outbox (request_id);
    `,
  },
  {
    description: 'sync: where a replicated version came from, open conflicts, versions kept aside, remote peers',
    sql: `
      -- The node a replicated version was received from (NULL: written here): pushes do not send it back there.
      ALTER TABLE resource_versions ADD COLUMN received_from TEXT;

      -- Resources whose version graph has more than one leaf (concurrent edits), until a person resolves them.
      CREATE TABLE open_conflicts (
        resource_type TEXT NOT NULL,
        resource_id   TEXT NOT NULL,
        opened_at     TEXT NOT NULL,
        PRIMARY KEY (resource_type, resource_id)
      ) WITHOUT ROWID;

      -- Replicated versions this node cannot store yet (unknown type, invalid for this build's model): kept, retried.
      CREATE TABLE sync_deferred (
        version_id    TEXT PRIMARY KEY,
        resource_type TEXT NOT NULL,
        resource_id   TEXT NOT NULL,
        parent_ids    TEXT NOT NULL,
        origin_node   TEXT NOT NULL,
        received_from TEXT,
        body          TEXT NOT NULL,
        reason        TEXT NOT NULL,
        received_at   TEXT NOT NULL
      ) WITHOUT ROWID;

      -- The nodes this one synchronises with, and how far each way has got.
      CREATE TABLE sync_peers (
        peer_id       TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        url           TEXT NOT NULL,          -- the peer's base URL (its FHIR API is at <url>/fhir)
        kind          TEXT NOT NULL,          -- office | directory
        client_id     TEXT NOT NULL,          -- this node's OAuth client on the peer
        secret        TEXT NOT NULL,          -- its secret, AES-256-GCM sealed with <data>/sync-secret.key
        remote_node   TEXT,                   -- the peer's node id, from the handshake
        pull_cursor   TEXT NOT NULL DEFAULT '0',  -- the peer's opaque $changes cursor
        push_cursor   INTEGER NOT NULL DEFAULT 0, -- this node's change-log sequence pushed so far
        last_sync_at  TEXT,
        last_error    TEXT,
        clock_skew_ms INTEGER,
        created_at    TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    description: 'sync: Binary content awaited from peers, and content a peer awaits from this node',
    sql: `
      -- Replicated Binary versions whose content file this node lacks: fetched from the peer they came from, retried.
      CREATE TABLE sync_content_wanted (
        version_id      TEXT PRIMARY KEY,
        resource_id     TEXT NOT NULL,            -- the Binary
        hash            TEXT NOT NULL,            -- SHA-256 of the content, hex (its name in the binary store)
        size            INTEGER NOT NULL,
        received_from   TEXT,                     -- the node the version came from
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,         -- epoch milliseconds
        last_error      TEXT,
        queued_at       TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX sync_content_wanted_by_hash ON sync_content_wanted (hash);

      -- Content a peer answered $replicate it lacks: uploaded to it after the push, until it has it.
      CREATE TABLE sync_content_outbox (
        peer_id     TEXT NOT NULL,
        hash        TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        version_id  TEXT NOT NULL,
        PRIMARY KEY (peer_id, hash)
      ) WITHOUT ROWID;
    `,
  },
  {
    description: 'sync: the recipients each peer serves, from its handshake',
    sql: `
      -- The Practitioners and Organizations a peer's handshake said it serves (its users and practices): documents
      -- for them go by the internal channel and reach them by sync. Replaced at each handshake; gone with the peer.
      CREATE TABLE sync_peer_recipients (
        resource_type TEXT NOT NULL,              -- Practitioner | Organization
        resource_id   TEXT NOT NULL,
        peer_id       TEXT NOT NULL REFERENCES sync_peers (peer_id) ON DELETE CASCADE,
        PRIMARY KEY (resource_type, resource_id, peer_id)
      ) WITHOUT ROWID;
      CREATE INDEX sync_peer_recipients_by_peer ON sync_peer_recipients (peer_id);
    `,
  },
  {
    description: 'sync: the kind of problem of a peer\'s last error',
    sql: `
      -- unreachable | credentials | rights | busy | peerFailed | protocol | fhirVersion | other (sync/peer-link.ts)
      ALTER TABLE sync_peers ADD COLUMN last_problem TEXT;
    `,
  },
  {
    description: 'live tokens: by client and by session, for the cap on live tokens each may hold',
    sql: `
      -- auth/tokens.ts deletes a client's (or a session's) oldest live tokens past its cap when it issues one: these
      -- indexes hold live tokens only, newest last, so that costs a walk of the cap's entries, not of all tokens.
      CREATE INDEX oauth_tokens_live_by_client ON oauth_tokens (client_id, expires_at) WHERE session_id IS NULL AND revoked_at IS NULL;
      CREATE INDEX oauth_tokens_live_by_session ON oauth_tokens (session_id, expires_at) WHERE session_id IS NOT NULL AND revoked_at IS NULL;
    `,
  },
  {
    description: 'audit log: refusals counted per source and second',
    sql: `
      -- A flood of refusals (bad tokens, throttled calls) is a row per source and second with its count
      -- (src-server/audit/audit-log.ts); accesses stay one row each (count 1, no source).
      ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE audit_log ADD COLUMN source TEXT;       -- the network address of counted refusals
    `,
  },
  {
    description: 'creators of Subscriptions and Binaries, and channel.header kept outside the resource',
    sql: `
      -- Who created a resource through the API, kept beside its versions (which must stay the same on every sync peer),
      -- for the types whose creator counts (fhir/search/visibility.ts): a Subscription is its creator's, seen and
      -- managed by them and the admins of their practices (no row: the owner client's alone); a Binary is its
      -- uploader's to name first in a DocumentReference (documents/document-content-rule.ts).
      CREATE TABLE resource_owners (
        resource_type TEXT NOT NULL,
        resource_id   TEXT NOT NULL,
        owner_key     TEXT,                     -- the creating caller: an API client's id, user:<id>; NULL: unknown
        practices     TEXT NOT NULL DEFAULT '', -- space-separated Organization ids of the creator's practices
        PRIMARY KEY (resource_type, resource_id)
      ) WITHOUT ROWID;
      -- Subscriptions made before: their creator is unknown; the practices of the reach that last wrote one manage it.
      INSERT INTO resource_owners (resource_type, resource_id, owner_key, practices)
        SELECT 'Subscription', o.subscription_id, NULL,
               coalesce((SELECT group_concat(json_extract(r.value, '$[1]'), ' ') FROM json_each(o.reach) r WHERE json_extract(r.value, '$[0]') = 'Organization'), '')
        FROM subscription_owners o;

      -- channel.header (the endpoint's credentials, JSON ["Name: value"…]) leaves the resource for the node's own record.
      ALTER TABLE subscription_owners ADD COLUMN header TEXT;
      -- The caller (visibility.ts Caller, JSON) that last wrote it, with its reach: its notifications carry what they
      -- may see. NULL: the whole node. Written before: unknown, so a caller who owns no Subscription.
      ALTER TABLE subscription_owners ADD COLUMN caller TEXT;
      UPDATE subscription_owners SET caller = '{"key":"","practiceIds":[],"admin":false}';
      UPDATE subscription_owners SET header = (
        SELECT json_extract(v.body, '$.channel.header') FROM resources r JOIN resource_versions v ON v.vseq = r.vseq
        WHERE r.resource_type = 'Subscription' AND r.resource_id = subscription_owners.subscription_id);
      -- Out of every stored version, history included (JSON text otherwise unchanged: the same bytes on every node
      -- that runs this), and out of the versions kept aside by sync.
      UPDATE resource_versions SET body = json_remove(body, '$.channel.header')
        WHERE resource_type = 'Subscription' AND json_type(body, '$.channel.header') IS NOT NULL;
      UPDATE sync_deferred SET body = json_remove(body, '$.channel.header')
        WHERE resource_type = 'Subscription' AND json_type(body, '$.channel.header') IS NOT NULL;
    `,
  },
  {
    description: 'local accounts (login and password) and the codes that let a colleague\'s desktop join the office',
    sql: `
      -- A user who logs in with a login and a password (auth/local-accounts.ts): an account made on the node (users.issuer
      -- 'local'), or a provider's user with an offline password. The password is a scrypt hash with its own salt.
      CREATE TABLE local_accounts (
        user_id              TEXT PRIMARY KEY REFERENCES users (user_id),
        login                TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash        TEXT NOT NULL,     -- <salt hex>:<scrypt hex>
        must_change_password INTEGER NOT NULL DEFAULT 0,  -- 1 after an admin reset: the next login sets a new one
        password_changed_at  TEXT NOT NULL
      ) WITHOUT ROWID;

      -- A code an office's admin gives a colleague so that their desktop joins the office (setup/join.ts): single use,
      -- for that colleague's account, until it expires. Only its hash is kept.
      CREATE TABLE join_codes (
        code_hash   TEXT PRIMARY KEY,           -- sha256 of the code, hex
        user_id     TEXT NOT NULL REFERENCES users (user_id),
        created_at  TEXT NOT NULL,
        expires_at  INTEGER NOT NULL,           -- epoch milliseconds
        used_at     INTEGER
      ) WITHOUT ROWID;
    `,
  },
  {
    description: 'apps that log their users in through the node (authorization code flow), and users\' grants to them',
    sql: `
      -- An app is an OAuth client (oauth_clients, role 'app': its name, scopes, rate, revoked_at when disabled) with
      -- where it may send its users back and whether it holds a secret (auth/apps.ts). A public app's secret_hash is ''.
      CREATE TABLE oauth_apps (
        client_id     TEXT PRIMARY KEY REFERENCES oauth_clients (client_id),
        redirect_uris TEXT NOT NULL,            -- JSON array of exact URIs (a loopback one matches on any port)
        public        INTEGER NOT NULL          -- 1: PKCE only, no secret
      ) WITHOUT ROWID;

      -- A session is a user's login in the UI (client_id NULL, every scope) or a user's grant to an app: the app, and
      -- the scopes the user consented to. Its tokens are the app's, for that user; ending it ends them.
      ALTER TABLE sessions ADD COLUMN client_id TEXT REFERENCES oauth_clients (client_id);
      ALTER TABLE sessions ADD COLUMN scopes TEXT;
      CREATE INDEX sessions_of_app ON sessions (client_id) WHERE client_id IS NOT NULL;
    `,
  },
  {
    description: 'the document channels (MSSanté relay, DPI, DMP) set up from Réglages',
    sql: `
      -- One row per channel an admin set up (documents/saved-channels.ts): its settings as JSON without its secrets
      -- (the relay's password, the DMP's headers), which are sealed under the data key apart. A channels.json file
      -- present at start wins over these rows.
      CREATE TABLE channel_settings (
        channel     TEXT PRIMARY KEY,           -- mssante | dpi | dmp
        settings    TEXT NOT NULL,              -- JSON, secrets left out
        secrets     TEXT,                       -- sealing.ts seal() of a JSON object of the secrets, or NULL
        updated_at  TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    description: 'booking conflicts: two booked appointments of one practitioner that overlap, brought together by sync',
    sql: `
      -- One row per pair of appointments (a < b, ids) and practitioner whose time both take (docs/sync.md, "Booking
      -- conflicts"). Computed from the current versions whenever an appointment's changes (store/open-conflicts.ts),
      -- so every node with the same data holds the same rows: they are not synced.
      CREATE TABLE booking_conflicts (
        appointment_a   TEXT NOT NULL,
        appointment_b   TEXT NOT NULL,
        practitioner_id TEXT NOT NULL,
        opened_at       TEXT NOT NULL,          -- when this node first saw the overlap
        PRIMARY KEY (appointment_a, appointment_b, practitioner_id)
      ) WITHOUT ROWID;
      CREATE INDEX booking_conflicts_of_b ON booking_conflicts (appointment_b);
    `,
  },
  {
    description: 'the patient a SMART launch confined an app\'s grant to',
    sql: `
      -- An app's grant made with SMART's launch/patient (auth/app-login.ts): the Patient the user chose on the consent
      -- page. Its tokens, refreshed ones included, see that patient's compartment only (auth/reach.ts). NULL: no launch.
      ALTER TABLE sessions ADD COLUMN patient_id TEXT;
    `,
  },
  {
    description: "a practice's own settings: whether its practitioners share their patients",
    sql: `
      -- One row per practice (Organization id) whose admin changed a setting (auth/practice-settings.ts); a practice
      -- without a row has the defaults (its practitioners share their patients).
      CREATE TABLE practice_settings (
        organization_id  TEXT PRIMARY KEY,
        shares_patients  INTEGER NOT NULL CHECK (shares_patients IN (0, 1)),
        updated_at       TEXT NOT NULL,
        updated_by       TEXT NOT NULL            -- the admin's key (user:<id>, or the owner client's id)
      ) WITHOUT ROWID;
    `,
  },
  {
    description: 'the widest date value of each search parameter, found in one lookup',
    sql: `
      -- A pair of bounds on a single-valued date (an agenda's week) is read as one range on low, closed by the
      -- parameter's widest value (store/search/conditions.ts, dateRangeRows): max(high - low) through this index.
      CREATE INDEX idx_date_by_span ON idx_date (pid, high - low);
    `,
  },
];

export const schemaVersion = migrations.length;
