import type { HealthState } from "../core/health/health-machine.js";
import type { Membership } from "../core/schema/instance.js";

/**
 * One member of a service, as the coordinator holds it in memory. Every change
 * is written through to SQLite (schema below, documented in docs/storage.md),
 * so an evicted object reloads exactly what it had.
 */
export interface Member {
  id: string;
  url: string;
  weight: number;
  zone: string | null;
  metadata: Record<string, string> | null;
  /** Per-instance lease length; null means the service default. */
  ttlSeconds: number | null;
  registeredAt: number;
  leaseExpiresAt: number;
  membership: Membership;
  membershipSince: number;
  health: HealthState;
  requests: number;
  failures: number;
  latencyMsTotal: number;
}

const SCHEMA = `
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
);
`;

type Row = Record<string, SqlStorageValue>;

function str(v: SqlStorageValue | undefined): string {
  // A text column never holds a blob, so only a number needs converting.
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}
function num(v: SqlStorageValue | undefined): number {
  return typeof v === "number" ? v : Number(v ?? 0);
}
function strOrNull(v: SqlStorageValue | undefined): string | null {
  return typeof v === "string" ? v : null;
}

function toMember(r: Row): Member {
  const metadata = strOrNull(r.metadata);
  return {
    id: str(r.id),
    url: str(r.url),
    weight: num(r.weight),
    zone: strOrNull(r.zone),
    metadata: metadata === null ? null : (JSON.parse(metadata) as Record<string, string>),
    ttlSeconds: r.ttl_seconds === null ? null : num(r.ttl_seconds),
    registeredAt: num(r.registered_at),
    leaseExpiresAt: num(r.lease_expires_at),
    membership: str(r.membership) as Membership,
    membershipSince: num(r.membership_since),
    health: JSON.parse(str(r.health)) as HealthState,
    requests: num(r.requests),
    failures: num(r.failures),
    latencyMsTotal: num(r.latency_ms_total),
  };
}

export class InstanceTable {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#sql.exec(SCHEMA);
  }

  loadAll(): Member[] {
    return this.#sql.exec<Row>("SELECT * FROM instances ORDER BY registered_at, id").toArray().map(toMember);
  }

  save(m: Member): void {
    this.#sql.exec(
      `INSERT INTO instances (id, url, weight, zone, metadata, ttl_seconds, registered_at, lease_expires_at,
         membership, membership_since, health, requests, failures, latency_ms_total)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET url = excluded.url, weight = excluded.weight, zone = excluded.zone,
         metadata = excluded.metadata, ttl_seconds = excluded.ttl_seconds, registered_at = excluded.registered_at,
         lease_expires_at = excluded.lease_expires_at, membership = excluded.membership,
         membership_since = excluded.membership_since, health = excluded.health, requests = excluded.requests,
         failures = excluded.failures, latency_ms_total = excluded.latency_ms_total`,
      m.id,
      m.url,
      m.weight,
      m.zone,
      m.metadata === null ? null : JSON.stringify(m.metadata),
      m.ttlSeconds,
      m.registeredAt,
      m.leaseExpiresAt,
      m.membership,
      m.membershipSince,
      JSON.stringify(m.health),
      m.requests,
      m.failures,
      m.latencyMsTotal,
    );
  }

  /** Heartbeats are the hottest write; touch one column only. */
  saveLease(id: string, leaseExpiresAt: number): void {
    this.#sql.exec("UPDATE instances SET lease_expires_at = ? WHERE id = ?", leaseExpiresAt, id);
  }

  delete(id: string): void {
    this.#sql.exec("DELETE FROM instances WHERE id = ?", id);
  }

  /** Empties both tables but keeps them: a live object must be able to write again at once. */
  clear(): void {
    this.#sql.exec("DELETE FROM instances; DELETE FROM meta;");
  }

  getMeta(key: string): string | null {
    const rows = this.#sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray();
    return rows[0]?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.#sql.exec(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }
}
