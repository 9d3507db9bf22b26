import { DurableObject } from "cloudflare:workers";
import { createBalancer, type Balancer } from "../core/balance/index.js";
import { applyCheck, applyPassive, isRoutable } from "../core/health/health-machine.js";
import { leaseAction, nextLeaseEventAt } from "../core/lease/lease.js";
import type { ServiceConfig } from "../core/schema/service.js";
import { instanceIdFor, MAX_PICKS_PER_BATCH, type InstanceReport, type Snapshot, type SnapshotInstance } from "../core/snapshot.js";
import { deleteInstance, putInstance } from "../registry/kv-registry.js";
import { InstanceTable, type Member } from "./instance-table.js";
import { buildSnapshot, registerMember, snapshotSignature, toSnapshotInstance, type RegisterRequest } from "./member.js";
import { repairMirror, unmirror } from "./mirror.js";
import { mapPool } from "../core/map-pool.js";
import { probe, PROBE_CONCURRENCY } from "./probe.js";
import { instanceView, type InstanceView } from "./views.js";

/**
 * Active members per service. A health round probes PROBE_CONCURRENCY (6) at a
 * time, so it lasts about ceil(N / 6) x probe latency: 650–850 ms measured for 1,000 healthy
 * loopback origins, but minutes if hundreds of them time out. The next round
 * starts only when the previous one ends.
 */
export const MAX_INSTANCES = 1000;
/** A router's report of a broken connection triggers at most one confirming probe per instance per second. */
const SUSPECT_PROBE_GAP_MS = 1000;

export type { RegisterRequest };
export type RegisterResult =
  | { ok: true; id: string; leaseExpiresAt: number; created: boolean }
  | { ok: false; error: "too_many_instances" | "service_deleted" };
/** One answer per requested pick, in the order asked; null where every allowed instance was excluded. */
export type PickBatchResult =
  | { ok: true; instances: (SnapshotInstance | null)[]; allUnhealthy: boolean; version: number }
  | { ok: false; error: "too_many_picks"; max: number };
const NOTHING_EXCLUDED: ReadonlySet<string> = new Set();
export interface ServiceView {
  service: string | null;
  snapshotVersion: number;
  instances: InstanceView[];
  /** Strict-mode load since this object last started (in memory only): pickBatch calls, and the picks answered. */
  strictPicks: { rpcs: number; picks: number };
}
export interface SweepResult {
  expired: number;
  removed: number;
  mirrorRepaired: number;
  alarmAt: number | null;
}

/**
 * One per service (idFromName(service)). Owns membership, leases, health and
 * the balancing counters, and hands routers a versioned snapshot. Called only
 * by RPC; every public method is an RPC entry point, internals are #private.
 *
 * Concurrency: outbound I/O (probes, KV writes) opens the input gate, so other
 * RPCs can run in between. Every method therefore makes its state changes
 * synchronously and does its I/O afterwards, and code that resumes after an
 * await looks members up again instead of trusting an object it held before.
 */
export class ServiceCoordinator extends DurableObject<Env> {
  readonly #table: InstanceTable;
  readonly #members = new Map<string, Member>();
  #name: string | null;
  #config: ServiceConfig | null;
  /** The service record's updatedAt (Worker clock) of the config we hold; older configs are ignored. */
  #configVersion: number;
  /** updatedAt of the record that was deleted; configs not newer than it are stale echoes. */
  #deletedVersion: number;
  #version: number;
  #signature = "";
  #nextCheckAt: number;
  #balancer: Balancer;
  readonly #lastSuspectProbe = new Map<string, number>();
  readonly #strictPicks = { rpcs: 0, picks: 0 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // SQLite reads are synchronous, so state is loaded before any event is delivered.
    this.#table = new InstanceTable(ctx.storage.sql);
    for (const m of this.#table.loadAll()) this.#members.set(m.id, m);
    this.#name = this.#table.getMeta("service");
    const config = this.#table.getMeta("config");
    this.#config = config === null ? null : (JSON.parse(config) as ServiceConfig);
    this.#configVersion = Number(this.#table.getMeta("config_version") ?? "0");
    this.#deletedVersion = Number(this.#table.getMeta("deleted_version") ?? "-1");
    this.#version = Number(this.#table.getMeta("snapshot_version") ?? "0");
    this.#nextCheckAt = Number(this.#table.getMeta("next_check_at") ?? "0");
    this.#balancer = createBalancer(this.#config?.balancer ?? "round_robin");
    // #signature stays "": the first refresh after a load bumps the version once, so an
    // ejection that ended while the object was evicted still reaches the routers.
  }

  async configure(name: string, config: ServiceConfig, configVersion: number): Promise<{ accepted: boolean; version: number }> {
    const accepted = this.#applyConfig(name, config, configVersion);
    await this.#arm();
    return { accepted, version: this.#version };
  }

  async register(name: string, config: ServiceConfig, configVersion: number, req: RegisterRequest): Promise<RegisterResult> {
    if (!this.#applyConfig(name, config, configVersion) || this.#config === null) return { ok: false, error: "service_deleted" };
    const current = this.#config;
    const now = Date.now();
    const id = await instanceIdFor(req.url);
    const existing = this.#members.get(id);
    if (existing === undefined && this.#activeCount() >= MAX_INSTANCES) return { ok: false, error: "too_many_instances" };
    const ttlMs = (req.ttlSeconds ?? current.lease.ttlSeconds) * 1000;
    const { member, mirrorChanged } = registerMember(existing, id, req, now, ttlMs);
    this.#members.set(id, member);
    this.#table.save(member);
    this.#refreshSnapshot(now);
    if (mirrorChanged) await putInstance(this.env.REGISTRY, name, toSnapshotInstance(member));
    await this.#arm();
    return { ok: true, id, leaseExpiresAt: member.leaseExpiresAt, created: existing === undefined };
  }

  /** Renews a lease. Null when unknown, expired or draining: the origin must register again. */
  async heartbeat(id: string): Promise<{ leaseExpiresAt: number } | null> {
    const m = this.#members.get(id);
    const now = Date.now();
    if (m === undefined || m.membership !== "active" || m.leaseExpiresAt <= now || this.#config === null) return null;
    m.leaseExpiresAt = now + (m.ttlSeconds ?? this.#config.lease.ttlSeconds) * 1000;
    this.#table.saveLease(id, m.leaseExpiresAt);
    return { leaseExpiresAt: m.leaseExpiresAt };
  }

  /** Starts draining: no new requests; the record is removed after deregisterAfterSeconds. */
  async deregister(id: string): Promise<boolean> {
    const m = this.#members.get(id);
    if (m === undefined || this.#name === null) return false;
    const name = this.#name;
    if (m.membership !== "draining") {
      const now = Date.now();
      m.membership = "draining";
      m.membershipSince = now;
      this.#table.save(m);
      this.#refreshSnapshot(now);
    }
    // Deleted even when already draining, so a retried DELETE repairs a failed KV write.
    await deleteInstance(this.env.REGISTRY, name, id);
    await this.#arm();
    return true;
  }

  /** The routable set. Pass the version you hold to get `null` back when nothing changed. */
  async snapshot(haveVersion?: number): Promise<Snapshot | null> {
    const snap = this.#refreshSnapshot(Date.now());
    return haveVersion === snap.version ? null : snap;
  }

  /**
   * Strict mode: one global round-robin. Each entry of `excludes` is one pick
   * (the instances that request already tried), answered in order from one
   * snapshot, so a batch advances the rotation exactly as the same picks made
   * one at a time would. A batch over MAX_PICKS_PER_BATCH is refused whole
   * (no rotation slot is spent on it).
   */
  async pickBatch(excludes: string[][]): Promise<PickBatchResult> {
    this.#strictPicks.rpcs++;
    if (excludes.length > MAX_PICKS_PER_BATCH) return { ok: false, error: "too_many_picks", max: MAX_PICKS_PER_BATCH };
    this.#strictPicks.picks += excludes.length;
    const snap = this.#refreshSnapshot(Date.now());
    const instances = excludes.map(
      (exclude) => this.#balancer.pick(snap.instances, exclude.length === 0 ? NOTHING_EXCLUDED : new Set(exclude)) ?? null,
    );
    return { ok: true, instances, allUnhealthy: snap.allUnhealthy, version: snap.version };
  }

  /** Passive outcomes from routers, aggregated per instance. */
  async report(reports: InstanceReport[]): Promise<{ version: number }> {
    const now = Date.now();
    if (this.#config === null) return { version: this.#version };
    const outlier = this.#config.outlier;
    let routable = this.#routableCount(now);
    for (const r of reports) {
      const m = this.#members.get(r.instanceId);
      if (m === undefined) continue;
      m.requests += r.requests;
      m.failures += r.failures;
      m.latencyMsTotal += r.latencyMsTotal;
      const wasRoutable = m.membership === "active" && isRoutable(m.health, now);
      m.health = applyPassive(m.health, r, outlier, now, routable - (wasRoutable ? 1 : 0) > 0);
      if (wasRoutable && !isRoutable(m.health, now)) routable--;
      this.#table.save(m);
      if (r.trailingFailures > 0 && r.lastFailure !== "status") this.#suspect(m.id, now);
    }
    this.#refreshSnapshot(now);
    await this.#arm();
    return { version: this.#version };
  }

  async describe(): Promise<ServiceView> {
    const now = Date.now();
    this.#refreshSnapshot(now);
    return {
      service: this.#name,
      snapshotVersion: this.#version,
      instances: [...this.#members.values()].map((m) => instanceView(m, now)),
      strictPicks: { ...this.#strictPicks },
    };
  }

  /** Cron's safety net: apply leases, repair the KV mirror, make sure the alarm is armed. */
  async sweep(): Promise<SweepResult> {
    const { expired, removed } = await this.#applyLeases(Date.now());
    this.#refreshSnapshot(Date.now());
    const mirrorRepaired = this.#name === null ? 0 : await repairMirror(this.env.REGISTRY, this.#name, this.#members);
    const alarmAt = await this.#arm();
    return { expired, removed, mirrorRepaired, alarmAt };
  }

  /**
   * Forget the service. The tables stay (dropping them would break this live
   * object); the snapshot version and a tombstone survive, so versions stay
   * monotonic and a stale register carrying the deleted config is refused.
   */
  async destroy(deletedVersion: number): Promise<void> {
    this.#table.clear();
    this.#members.clear();
    this.#lastSuspectProbe.clear();
    this.#name = null;
    this.#config = null;
    this.#configVersion = 0;
    this.#deletedVersion = Math.max(this.#deletedVersion, deletedVersion);
    this.#nextCheckAt = 0;
    this.#table.setMeta("deleted_version", String(this.#deletedVersion));
    this.#table.setMeta("snapshot_version", String(this.#version));
    await this.ctx.storage.deleteAlarm();
  }

  override async alarm(): Promise<void> {
    if (this.#config === null) return;
    const config = this.#config;
    if (this.#nextCheckAt <= Date.now() + 50) {
      const roundStart = Date.now();
      const targets = [...this.#members.values()].filter((m) => m.membership === "active").map((m) => m.id);
      await mapPool(targets, PROBE_CONCURRENCY, (id) => this.#check(id, config));
      const interval = config.healthCheck.intervalSeconds * 1000;
      // Rounds start every interval from the previous start, so a probe that waits out its
      // timeout does not push the next round back. Jitter only shortens the interval (up to
      // 10%), which spreads many services' probes without ever checking later than configured.
      const next = roundStart + Math.round(interval * (0.9 + Math.random() * 0.1));
      this.#nextCheckAt = Math.max(next, Date.now());
      this.#table.setMeta("next_check_at", String(this.#nextCheckAt));
    }
    await this.#applyLeases(Date.now());
    this.#refreshSnapshot(Date.now());
    await this.#arm();
  }

  async #check(id: string, config: ServiceConfig): Promise<void> {
    const before = this.#members.get(id);
    if (before === undefined) return;
    const result = await probe(before.url, config.healthCheck);
    // Look the member up again: it may have been removed or replaced while the probe was in flight.
    const m = this.#members.get(id);
    if (m === undefined || m.membership !== "active") return;
    m.health = applyCheck(m.health, result, config.healthCheck, Date.now());
    this.#table.save(m);
  }

  #suspect(id: string, now: number): void {
    const last = this.#lastSuspectProbe.get(id) ?? 0;
    if (this.#config === null || now - last < SUSPECT_PROBE_GAP_MS) return;
    this.#lastSuspectProbe.set(id, now);
    this.ctx.waitUntil(
      this.#check(id, this.#config)
        .then(() => this.#refreshSnapshot(Date.now()))
        .catch((err: unknown) => console.error(JSON.stringify({ event: "suspect_probe_failed", id, message: String(err) }))),
    );
  }

  /** Persists first, then adopts: a failed write must not leave memory ahead of storage. */
  #applyConfig(name: string, config: ServiceConfig, configVersion: number): boolean {
    if (configVersion <= this.#deletedVersion) return false;
    if (this.#config !== null && this.#name === name && configVersion <= this.#configVersion) return true;
    const json = JSON.stringify(config);
    this.#table.setMeta("service", name);
    this.#table.setMeta("config", json);
    this.#table.setMeta("config_version", String(configVersion));
    if (this.#config?.balancer !== config.balancer) this.#balancer = createBalancer(config.balancer);
    const intervalChanged = this.#config?.healthCheck.intervalSeconds !== config.healthCheck.intervalSeconds;
    this.#name = name;
    this.#config = config;
    this.#configVersion = configVersion;
    if (intervalChanged) {
      this.#nextCheckAt = Date.now() + config.healthCheck.intervalSeconds * 1000;
      this.#table.setMeta("next_check_at", String(this.#nextCheckAt));
    }
    this.#refreshSnapshot(Date.now());
    return true;
  }

  /** State changes first, all synchronous; the KV deletes they imply run afterwards. */
  async #applyLeases(now: number): Promise<{ expired: number; removed: number }> {
    if (this.#config === null || this.#name === null) return { expired: 0, removed: 0 };
    const name = this.#name;
    const after = this.#config.lease.deregisterAfterSeconds;
    const unmirrorIds: string[] = [];
    let expired = 0;
    let removed = 0;
    for (const m of this.#members.values()) {
      const action = leaseAction(m, now, after);
      if (action === "expire") {
        m.membership = "expired";
        m.membershipSince = now;
        this.#table.save(m);
        unmirrorIds.push(m.id);
        expired++;
      } else if (action === "remove") {
        this.#members.delete(m.id);
        this.#table.delete(m.id);
        this.#lastSuspectProbe.delete(m.id);
        unmirrorIds.push(m.id);
        removed++;
      }
    }
    await unmirror(this.env.REGISTRY, name, unmirrorIds);
    return { expired, removed };
  }

  #activeCount(): number {
    let n = 0;
    for (const m of this.#members.values()) if (m.membership === "active") n++;
    return n;
  }

  #routableCount(now: number): number {
    let n = 0;
    for (const m of this.#members.values()) if (m.membership === "active" && isRoutable(m.health, now)) n++;
    return n;
  }

  /** Builds the current snapshot, bumping its version when the routable set or a weight changed. */
  #refreshSnapshot(now: number): Snapshot {
    const snap = buildSnapshot(this.#members.values(), this.#name ?? "", this.#version, this.#config?.panic.routeToAllWhenNoneHealthy ?? false, now);
    const signature = snapshotSignature(snap);
    if (signature === this.#signature) return snap;
    this.#signature = signature;
    this.#version++;
    this.#table.setMeta("snapshot_version", String(this.#version));
    snap.version = this.#version;
    return snap;
  }

  /** One alarm, at the earliest of: next health round, next lease event, next ejection end. */
  async #arm(): Promise<number | null> {
    if (this.#config === null) return null;
    const after = this.#config.lease.deregisterAfterSeconds;
    const now = Date.now();
    let at = this.#nextCheckAt > 0 ? this.#nextCheckAt : now + this.#config.healthCheck.intervalSeconds * 1000;
    for (const m of this.#members.values()) {
      at = Math.min(at, nextLeaseEventAt(m, after));
      if (m.health.ejectedUntil !== null && m.health.ejectedUntil > now) at = Math.min(at, m.health.ejectedUntil);
    }
    const current = await this.ctx.storage.getAlarm();
    if (current !== at) await this.ctx.storage.setAlarm(at);
    return at;
  }
}
