import type { HealthState } from "../../core/health/health-machine.js";
import type { Member } from "../../core/membership/member.js";
import type { StoredRow } from "../../core/membership/stored.js";

/**
 * Reads and writes of the coordinator's two tables (layout: migrations.ts,
 * docs/storage.md). Rows come back raw; decoding and validating them is
 * core/membership/stored.ts's job, so a bad row can be reported, not thrown.
 */
export class InstanceTable {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  rows(): StoredRow[] {
    return this.#sql.exec("SELECT * FROM instances ORDER BY registered_at, id").toArray();
  }

  row(id: string): StoredRow | null {
    return this.#sql.exec("SELECT * FROM instances WHERE id = ?", id).toArray()[0] ?? null;
  }

  save(m: Member): void {
    this.#sql.exec(
      `INSERT INTO instances (id, url, weight, zone, metadata, ttl_seconds, registered_at, lease_expires_at,
         membership, membership_since, health, requests, failures, latency_ms_total, priority, location)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET url = excluded.url, weight = excluded.weight, zone = excluded.zone,
         priority = excluded.priority, location = excluded.location,
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
      m.priority,
      m.location === null ? null : JSON.stringify(m.location),
    );
  }

  /** Heartbeats are the hottest write; touch one column only. */
  saveLease(id: string, leaseExpiresAt: number): void {
    this.#sql.exec("UPDATE instances SET lease_expires_at = ? WHERE id = ?", leaseExpiresAt, id);
  }

  /**
   * The passive counters as memory holds them, written by the state's
   * coalesced flush (storage/write-behind.ts): absolute values, so a flush
   * repeated or skipped never double-counts. A removed row is left removed.
   */
  saveCounters(m: Pick<Member, "id" | "requests" | "failures" | "latencyMsTotal">): void {
    this.#sql.exec("UPDATE instances SET requests = ?, failures = ?, latency_ms_total = ? WHERE id = ?", m.requests, m.failures, m.latencyMsTotal, m.id);
  }

  saveHealth(id: string, health: HealthState): void {
    this.#sql.exec("UPDATE instances SET health = ? WHERE id = ?", JSON.stringify(health), id);
  }

  delete(id: string): void {
    this.#sql.exec("DELETE FROM instances WHERE id = ?", id);
  }

  /** Empties both tables but keeps them, and the schema version: a live object must be able to write again at once. */
  clear(): void {
    this.#sql.exec("DELETE FROM instances; DELETE FROM meta WHERE key <> 'schema_version';");
  }

  getMeta(key: string): string | null {
    const rows = this.#sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray();
    return rows[0]?.value ?? null;
  }

  deleteMeta(key: string): void {
    this.#sql.exec("DELETE FROM meta WHERE key = ?", key);
  }

  setMeta(key: string, value: string): void {
    this.#sql.exec(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }
}
