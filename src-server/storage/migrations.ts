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
      CREATE INDEX resources_by_type_updated ON resources (resource_type, last_updated, resource_id);

      -- Monotonic local sequence of every write: the _history order, the sync cursor, the index outbox.
      -- Rows are never deleted, so a plain rowid key is already monotonic (AUTOINCREMENT would cost a write).
      CREATE TABLE change_log (
        seq           INTEGER PRIMARY KEY,
        vseq          INTEGER NOT NULL UNIQUE REFERENCES resource_versions (vseq),
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
];

export const schemaVersion = migrations.length;
