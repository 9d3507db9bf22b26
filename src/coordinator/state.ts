import { createBalancer, type Balancer } from "../core/balance/index.js";
import type { HealthState } from "../core/health/health-machine.js";
import type { Member } from "../core/membership/member.js";
import { decodeMemberRow, parseStoredConfig, parseStoredCredentials } from "../core/membership/stored.js";
import type { ServiceCredentials } from "../core/schema/credentials.js";
import type { ServiceConfig } from "../core/schema/service.js";
import type { InstanceReport, Snapshot } from "../core/snapshot.js";
import { logHealthChange } from "./events.js";
import { SnapshotKeeper } from "./snapshots.js";
import { InstanceTable } from "./storage/instance-table.js";
import { migrate } from "./storage/migrations.js";

/**
 * Everything one coordinator knows, in memory, written through to SQLite
 * (the passive counters behind, by flushCounters: storage/write-behind.ts).
 * Loaded synchronously in the constructor (migrations first), so it is whole
 * before the object receives any event. Every write that can change the
 * routable set goes through a method here that also marks the snapshot dirty,
 * so no caller can forget to.
 */
export class CoordinatorState {
  readonly members = new Map<string, Member>();
  /** Rows that failed validation at load, by id, with the reason; the sweep repairs or removes them. */
  readonly corrupt = new Map<string, string>();
  /** Members whose passive counters in memory are ahead of their row (addCounters, flushCounters). */
  readonly #countersWaiting = new Set<string>();
  readonly table: InstanceTable;
  readonly snapshots: SnapshotKeeper;
  name: string | null;
  config: ServiceConfig | null;
  /** The service record's updatedAt (Worker clock) of the config we hold; older configs are ignored. */
  configVersion: number;
  /** updatedAt of the record that was deleted; configs not newer than it are stale echoes. */
  deletedVersion: number;
  nextCheckAt: number;
  balancer: Balancer;
  /**
   * The service's token digests and creation time, which decide over KV's copy
   * (schema/credentials.ts). Null until the first PUT, rotation
   * or sweep reaching an object from before they were kept here.
   */
  credentials: ServiceCredentials | null;

  constructor(storage: DurableObjectStorage) {
    migrate(storage);
    const table = new InstanceTable(storage.sql);
    this.table = table;
    for (const row of table.rows()) {
      const decoded = decodeMemberRow(row);
      if (decoded.ok) this.members.set(decoded.member.id, decoded.member);
      else this.#reportCorrupt(decoded.id, decoded.reason);
    }
    this.name = table.getMeta("service");
    this.config = this.#loadConfig();
    this.configVersion = Number(table.getMeta("config_version") ?? "0");
    this.deletedVersion = Number(table.getMeta("deleted_version") ?? "-1");
    this.nextCheckAt = Number(table.getMeta("next_check_at") ?? "0");
    this.credentials = this.#loadCredentials();
    this.balancer = createBalancer(this.config?.balancer ?? "round_robin");
    this.snapshots = new SnapshotKeeper(Number(table.getMeta("snapshot_version") ?? "0"), (v) =>
      table.setMeta("snapshot_version", String(v)),
    );
  }

  /** A bad config is dropped (and logged): the next configure from the API or the sweep brings it back. */
  #loadConfig(): ServiceConfig | null {
    const text = this.table.getMeta("config");
    if (text === null) return null;
    const parsed = parseStoredConfig(text);
    if (parsed.ok) return parsed.value;
    console.error(JSON.stringify({ event: "corrupt_config", service: this.name, reason: parsed.reason }));
    return null;
  }

  /** Bad credentials are dropped (and logged): the next PUT or sweep offers KV's again, and this object adopts them. */
  #loadCredentials(): ServiceCredentials | null {
    const text = this.table.getMeta("credentials");
    if (text === null) return null;
    const parsed = parseStoredCredentials(text);
    if (parsed.ok) return parsed.value;
    console.error(JSON.stringify({ event: "corrupt_credentials", service: this.name, reason: parsed.reason }));
    return null;
  }

  /**
   * Keeps `c` as the credentials in force. Called once the KV record carrying
   * them is written (coordinator/admin-writes.ts): had this object kept them
   * first and then been reset before that write, its next PUT would write a
   * token nobody was shown. A write of what is already held is skipped.
   */
  keepCredentials(c: ServiceCredentials): void {
    if (this.credentials !== null && sameCredentials(this.credentials, c)) return;
    this.table.setMeta("credentials", JSON.stringify(c));
    this.credentials = c;
  }

  #reportCorrupt(id: string, reason: string): void {
    this.corrupt.set(id, reason);
    console.error(JSON.stringify({ event: "corrupt_instance_row", service: this.name, id, reason }));
  }

  snapshot(now: number): Snapshot {
    return this.snapshots.current(this.members, this.name ?? "", this.config?.panic.routeToAllWhenNoneHealthy ?? false, now, this.config);
  }

  /** Adds or replaces a member (whole row). */
  put(m: Member): void {
    this.members.set(m.id, m);
    this.corrupt.delete(m.id);
    // The whole row, counters included: nothing of this member waits any more.
    this.#countersWaiting.delete(m.id);
    this.table.save(m);
    this.snapshots.markDirty();
  }

  remove(id: string): void {
    this.members.delete(id);
    this.corrupt.delete(id);
    this.#countersWaiting.delete(id);
    this.table.delete(id);
    this.snapshots.markDirty();
  }

  setHealth(m: Member, health: HealthState): void {
    // Every health write passes here, so transitions and ejections are logged once, wherever they came from.
    logHealthChange(this.name, m.id, m.health, health, Date.now());
    m.health = health;
    this.table.saveHealth(m.id, health);
    this.snapshots.markDirty();
  }

  /**
   * Counters never change the routable set, so they leave the snapshot alone.
   * They reach SQLite with the next coalesced flush (flushCounters), not per
   * report: the caller arms it (storage/write-behind.ts).
   */
  addCounters(m: Member, r: InstanceReport): void {
    m.requests += r.requests;
    m.failures += r.failures;
    m.latencyMsTotal += r.latencyMsTotal;
    this.#countersWaiting.add(m.id);
  }

  /** Writes the counters added since the last flush, one row per instance however many reports named it. */
  flushCounters(): void {
    for (const id of this.#countersWaiting) {
      const m = this.members.get(id);
      if (m !== undefined) this.table.saveCounters(m);
    }
    this.#countersWaiting.clear();
  }

  /** Persists first, then adopts: a failed write must not leave memory ahead of storage. */
  applyConfig(name: string, config: ServiceConfig, configVersion: number, now: number): boolean {
    if (configVersion <= this.deletedVersion) return false;
    if (this.config !== null && this.name === name && configVersion <= this.configVersion) return true;
    this.table.setMeta("service", name);
    this.table.setMeta("config", JSON.stringify(config));
    this.table.setMeta("config_version", String(configVersion));
    if (this.config?.balancer !== config.balancer) this.balancer = createBalancer(config.balancer);
    const intervalChanged = this.config?.healthCheck.intervalSeconds !== config.healthCheck.intervalSeconds;
    this.name = name;
    this.config = config;
    this.configVersion = configVersion;
    if (intervalChanged) this.setNextCheckAt(now + config.healthCheck.intervalSeconds * 1000);
    this.snapshots.markDirty();
    return true;
  }

  setNextCheckAt(at: number): void {
    this.nextCheckAt = at;
    this.table.setMeta("next_check_at", String(at));
  }

  /**
   * Forget the service. The tables stay (dropping them would break this live
   * object); the snapshot version and a tombstone survive, so versions stay
   * monotonic and a stale register carrying the deleted config is refused.
   */
  clear(deletedVersion: number): void {
    this.table.clear();
    this.members.clear();
    this.#countersWaiting.clear();
    this.corrupt.clear();
    this.name = null;
    this.config = null;
    this.configVersion = 0;
    this.credentials = null;
    this.deletedVersion = Math.max(this.deletedVersion, deletedVersion);
    this.nextCheckAt = 0;
    this.table.setMeta("deleted_version", String(this.deletedVersion));
    this.table.setMeta("snapshot_version", String(this.snapshots.version));
    this.snapshots.markDirty();
  }

  /**
   * The sweep's repair of rows that failed validation at load: a row whose JSON
   * columns were bad comes back with them reset (fresh health, no metadata) and
   * is re-probed like a new member; a row with unusable identity columns is
   * deleted (its origin's next heartbeat 404s and it registers again).
   */
  repairCorrupt(): { repaired: number; removed: number } {
    let repaired = 0;
    let removed = 0;
    for (const id of [...this.corrupt.keys()]) {
      const row = this.table.row(id);
      const decoded = row === null ? null : decodeMemberRow(row);
      const member = decoded === null ? null : decoded.ok ? decoded.member : decoded.repaired;
      if (member !== null) {
        this.put(member);
        repaired++;
      } else {
        this.remove(id);
        removed++;
      }
      console.error(JSON.stringify({ event: "corrupt_instance_repaired", service: this.name, id, action: member === null ? "removed" : "reset" }));
    }
    return { repaired, removed };
  }

  activeCount(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.membership === "active") n++;
    return n;
  }
}

function sameCredentials(a: ServiceCredentials, b: ServiceCredentials): boolean {
  return (
    a.tokenHash === b.tokenHash &&
    a.createdAt === b.createdAt &&
    a.previousToken?.hash === b.previousToken?.hash &&
    a.previousToken?.validUntil === b.previousToken?.validUntil
  );
}
