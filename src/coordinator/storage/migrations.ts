/**
 * The coordinator's SQLite schema, as an ordered list of migrations. The
 * version reached is kept in `meta.schema_version`; an object that predates
 * versioning has today's layout and no such key, so it counts as 0 and runs
 * migration 1, whose CREATE ... IF NOT EXISTS leaves its tables and rows as
 * they are. Every migration must be safe to run again (IF NOT EXISTS, or a
 * guard), because a crash between its DDL and the version write repeats it.
 * docs/storage.md lists them.
 */
export interface Migration {
  version: number;
  description: string;
  up(sql: SqlStorage): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "meta key/value table and the instances table (the layout before schema versions)",
    up(sql) {
      sql.exec(`
        CREATE TABLE IF NOT EXISTS meta (
          key   TEXT PRIMARY KEY,
          value TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS instances (
          id                TEXT PRIMARY KEY,
          url               TEXT NOT NULL UNIQUE,
          weight            INTEGER NOT NULL,
          zone              TEXT,
          metadata          TEXT,
          ttl_seconds       INTEGER,
          registered_at     INTEGER NOT NULL,
          lease_expires_at  INTEGER NOT NULL,
          membership        TEXT NOT NULL,
          membership_since  INTEGER NOT NULL,
          health            TEXT NOT NULL,
          requests          INTEGER NOT NULL DEFAULT 0,
          failures          INTEGER NOT NULL DEFAULT 0,
          latency_ms_total  REAL NOT NULL DEFAULT 0
        );`);
    },
  },
  {
    version: 2,
    description: "index instances by (registered_at, id), the order every load reads them in",
    up(sql) {
      // Loading 1,000 members otherwise sorts them on every object start.
      sql.exec("CREATE INDEX IF NOT EXISTS instances_by_registration ON instances (registered_at, id)");
    },
  },
  {
    version: 3,
    description: "instances.priority (level, default 0) and instances.location (JSON latitude/longitude or NULL)",
    up(sql) {
      // ADD COLUMN has no IF NOT EXISTS; a repeated run (crash before the version write) checks first.
      const columns = new Set(sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('instances')").toArray().map((c) => c.name));
      if (!columns.has("priority")) sql.exec("ALTER TABLE instances ADD COLUMN priority INTEGER NOT NULL DEFAULT 0");
      if (!columns.has("location")) sql.exec("ALTER TABLE instances ADD COLUMN location TEXT");
    },
  },
  {
    version: 4,
    description: "metrics: running totals and per-minute records per instance, the coordinator's own counters",
    up(sql) {
      sql.exec(`
        CREATE TABLE IF NOT EXISTS metrics_totals (
          instance TEXT PRIMARY KEY,
          record   TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS metrics_minutes (
          minute   INTEGER NOT NULL,
          instance TEXT NOT NULL,
          record   TEXT NOT NULL,
          PRIMARY KEY (minute, instance)
        );
        CREATE TABLE IF NOT EXISTS metrics_counters (
          name  TEXT PRIMARY KEY,
          value INTEGER NOT NULL
        );`);
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);

/** The version the stored tables are at: 0 for an empty object or one from before versioning. */
export function storedSchemaVersion(sql: SqlStorage): number {
  const hasMeta = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length > 0;
  if (!hasMeta) return 0;
  const row = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0];
  return row === undefined ? 0 : Number(row.value);
}

/**
 * Brings storage up to SCHEMA_VERSION, one transaction per migration so the
 * version recorded always matches the tables. Runs synchronously (SQLite is),
 * so called from the constructor it completes before any event is delivered.
 * Throws, and leaves the data alone, when storage is newer than this code: an
 * older build must not write a layout it does not know.
 */
export function migrate(storage: DurableObjectStorage): { from: number; to: number } {
  const sql = storage.sql;
  const from = storedSchemaVersion(sql);
  if (!Number.isInteger(from) || from > SCHEMA_VERSION) {
    throw new Error(`stored schema version ${String(from)} is not one this build knows (up to ${SCHEMA_VERSION})`);
  }
  for (const m of MIGRATIONS) {
    if (m.version <= from) continue;
    storage.transactionSync(() => {
      m.up(sql);
      sql.exec(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        String(m.version),
      );
    });
  }
  return { from, to: SCHEMA_VERSION };
}
