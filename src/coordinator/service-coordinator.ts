import { DurableObject } from "cloudflare:workers";
import { createBalancer, type Balancer } from "../core/balance/index.js";
import { applyCheck, applyPassive, initialHealth, isRoutable } from "../core/health/health-machine.js";
import { leaseAction, nextLeaseEventAt } from "../core/lease/lease.js";
import type { ServiceConfig } from "../core/schema/service.js";
import { instanceIdFor, type InstanceReport, type Snapshot, type SnapshotInstance } from "../core/snapshot.js";
import { deleteInstance, putInstance } from "../registry/kv-registry.js";
import { InstanceTable, type Member } from "./instance-table.js";
import { mapPool, probe, PROBE_CONCURRENCY } from "./probe.js";
import { instanceView, type InstanceView } from "./views.js";

/** A DO is single-threaded at ~1,000 req/s; this many members keeps one alarm round inside its interval. */
export const MAX_INSTANCES = 2000;
/** A router's report of a broken connection triggers at most one confirming probe per instance per second. */
const SUSPECT_PROBE_GAP_MS = 1000;

export interface RegisterRequest {
  url: string;
  weight: number;
  zone: string | null;
  metadata: Record<string, string> | null;
  ttlSeconds: number | null;
}
export type RegisterResult =
  | { ok: true; id: string; leaseExpiresAt: number; created: boolean }
  | { ok: false; error: "too_many_instances" };
export interface PickResult {
  instance: SnapshotInstance | null;
  allUnhealthy: boolean;
  version: number;
}
export interface ServiceView {
  service: string | null;
  snapshotVersion: number;
  instances: InstanceView[];
}
export interface SweepResult {
  expired: number;
  removed: number;
  alarmAt: number | null;
}

/**
 * One per service (idFromName(service)). Owns membership, leases, health and
 * the balancing counters, and hands routers a versioned snapshot. Called only
 * by RPC; every public method is an RPC entry point, internals are #private.
 */
export class ServiceCoordinator extends DurableObject<Env> {
  readonly #table: InstanceTable;
  readonly #members = new Map<string, Member>();
  #name: string | null;
  #config: ServiceConfig | null;
  #version: number;
  #signature = "";
  #nextCheckAt: number;
  #balancer: Balancer;
  readonly #lastSuspectProbe = new Map<string, number>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // SQLite reads are synchronous, so state is loaded before any event is delivered.
    this.#table = new InstanceTable(ctx.storage.sql);
    for (const m of this.#table.loadAll()) this.#members.set(m.id, m);
    this.#name = this.#table.getMeta("service");
    const config = this.#table.getMeta("config");
    this.#config = config === null ? null : (JSON.parse(config) as ServiceConfig);
    this.#version = Number(this.#table.getMeta("snapshot_version") ?? "0");
    this.#nextCheckAt = Number(this.#table.getMeta("next_check_at") ?? "0");
    this.#balancer = createBalancer(this.#config?.balancer ?? "round_robin");
    this.#signature = this.#computeSignature(Date.now());
  }

  async configure(name: string, config: ServiceConfig): Promise<{ version: number }> {
    this.#applyConfig(name, config);
    await this.#arm();
    return { version: this.#version };
  }

  async register(name: string, config: ServiceConfig, req: RegisterRequest): Promise<RegisterResult> {
    this.#applyConfig(name, config);
    const now = Date.now();
    const id = await instanceIdFor(req.url);
    const ttl = (req.ttlSeconds ?? config.lease.ttlSeconds) * 1000;
    const existing = this.#members.get(id);
    if (existing === undefined && this.#members.size >= MAX_INSTANCES) return { ok: false, error: "too_many_instances" };
    const member: Member =
      existing === undefined
        ? {
            id,
            url: req.url,
            weight: req.weight,
            zone: req.zone,
            metadata: req.metadata,
            ttlSeconds: req.ttlSeconds,
            registeredAt: now,
            leaseExpiresAt: now + ttl,
            membership: "active",
            membershipSince: now,
            health: initialHealth(),
            requests: 0,
            failures: 0,
            latencyMsTotal: 0,
          }
        : { ...existing, weight: req.weight, zone: req.zone, metadata: req.metadata, ttlSeconds: req.ttlSeconds, leaseExpiresAt: now + ttl };
    const mirrorChanged =
      existing === undefined ||
      existing.membership !== "active" ||
      existing.weight !== req.weight ||
      existing.zone !== req.zone;
    if (existing !== undefined && existing.membership !== "active") {
      // A member coming back from expiry or a drain starts over, as a new registration would.
      member.membership = "active";
      member.membershipSince = now;
      member.health = initialHealth();
    }
    this.#members.set(id, member);
    this.#table.save(member);
    // KV is a mirror of active membership for the router's fallback path; it is written
    // only when membership changes, never on a repeat registration (KV: 1 write/s per key).
    if (mirrorChanged) await putInstance(this.env.REGISTRY, name, toSnapshotInstance(member));
    this.#refreshSnapshot(now);
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
    if (m.membership !== "draining") {
      const now = Date.now();
      m.membership = "draining";
      m.membershipSince = now;
      this.#table.save(m);
      await deleteInstance(this.env.REGISTRY, this.#name, id);
      this.#refreshSnapshot(now);
      await this.#arm();
    }
    return true;
  }

  /** The routable set. Pass the version you hold to get `null` back when nothing changed. */
  async snapshot(haveVersion?: number): Promise<Snapshot | null> {
    const now = Date.now();
    this.#refreshSnapshot(now);
    if (haveVersion === this.#version) return null;
    return this.#buildSnapshot(now);
  }

  /** Strict mode: one global round-robin, at the cost of a DO round trip per pick. */
  async pick(exclude: string[]): Promise<PickResult> {
    const now = Date.now();
    this.#refreshSnapshot(now);
    const snap = this.#buildSnapshot(now);
    const chosen = this.#balancer.pick(snap.instances, new Set(exclude)) ?? null;
    return { instance: chosen, allUnhealthy: snap.allUnhealthy, version: this.#version };
  }

  /** Passive outcomes from routers, aggregated per instance. */
  async report(reports: InstanceReport[]): Promise<{ version: number }> {
    const now = Date.now();
    if (this.#config === null) return { version: this.#version };
    const outlier = this.#config.outlier;
    let routable = this.#routable(now).routable.length;
    for (const r of reports) {
      const m = this.#members.get(r.instanceId);
      if (m === undefined) continue;
      m.requests += r.requests;
      m.failures += r.failures;
      m.latencyMsTotal += r.latencyMsTotal;
      const wasRoutable = m.membership === "active" && isRoutable(m.health, now);
      const othersRoutable = routable - (wasRoutable ? 1 : 0) > 0;
      m.health = applyPassive(m.health, r, outlier, now, othersRoutable);
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
    };
  }

  /** Cron's safety net: apply leases now and make sure the alarm is armed. */
  async sweep(): Promise<SweepResult> {
    const { expired, removed } = await this.#applyLeases(Date.now());
    this.#refreshSnapshot(Date.now());
    const alarmAt = await this.#arm();
    return { expired, removed, alarmAt };
  }

  /** Forget everything: the service was deleted. */
  async destroy(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#members.clear();
    this.#name = null;
    this.#config = null;
  }

  override async alarm(): Promise<void> {
    if (this.#config === null) return;
    const config = this.#config;
    if (this.#nextCheckAt <= Date.now() + 50) {
      const targets = [...this.#members.values()].filter((m) => m.membership === "active");
      await mapPool(targets, PROBE_CONCURRENCY, (m) => this.#check(m.id, m.url, config));
      const interval = config.healthCheck.intervalSeconds * 1000;
      // ±10% jitter keeps many services' probes from landing on an origin in lockstep.
      this.#nextCheckAt = Date.now() + Math.round(interval * (0.9 + Math.random() * 0.2));
      this.#table.setMeta("next_check_at", String(this.#nextCheckAt));
    }
    await this.#applyLeases(Date.now());
    this.#refreshSnapshot(Date.now());
    await this.#arm();
  }

  async #check(id: string, url: string, config: ServiceConfig): Promise<void> {
    const result = await probe(url, config.healthCheck);
    // The member may have been removed or replaced while the probe was in flight.
    const m = this.#members.get(id);
    if (m === undefined || m.membership !== "active") return;
    m.health = applyCheck(m.health, result, config.healthCheck, Date.now());
    this.#table.save(m);
  }

  #suspect(id: string, now: number): void {
    const last = this.#lastSuspectProbe.get(id) ?? 0;
    const m = this.#members.get(id);
    if (m === undefined || this.#config === null || now - last < SUSPECT_PROBE_GAP_MS) return;
    this.#lastSuspectProbe.set(id, now);
    const config = this.#config;
    this.ctx.waitUntil(
      this.#check(id, m.url, config).then(() => {
        this.#refreshSnapshot(Date.now());
      }),
    );
  }

  #applyConfig(name: string, config: ServiceConfig): void {
    const json = JSON.stringify(config);
    if (this.#name === name && this.#config !== null && JSON.stringify(this.#config) === json) return;
    if (this.#config?.balancer !== config.balancer) this.#balancer = createBalancer(config.balancer);
    const intervalChanged = this.#config?.healthCheck.intervalSeconds !== config.healthCheck.intervalSeconds;
    this.#name = name;
    this.#config = config;
    this.#table.setMeta("service", name);
    this.#table.setMeta("config", json);
    if (intervalChanged) {
      this.#nextCheckAt = Date.now() + config.healthCheck.intervalSeconds * 1000;
      this.#table.setMeta("next_check_at", String(this.#nextCheckAt));
    }
    this.#signature = "";
    this.#refreshSnapshot(Date.now());
  }

  async #applyLeases(now: number): Promise<{ expired: number; removed: number }> {
    if (this.#config === null || this.#name === null) return { expired: 0, removed: 0 };
    const after = this.#config.lease.deregisterAfterSeconds;
    let expired = 0;
    let removed = 0;
    for (const m of [...this.#members.values()]) {
      const action = leaseAction(m, now, after);
      if (action === "expire") {
        m.membership = "expired";
        m.membershipSince = now;
        this.#table.save(m);
        await deleteInstance(this.env.REGISTRY, this.#name, m.id);
        expired++;
      } else if (action === "remove") {
        this.#members.delete(m.id);
        this.#table.delete(m.id);
        removed++;
      }
    }
    return { expired, removed };
  }

  #routable(now: number): { routable: Member[]; active: Member[] } {
    const active: Member[] = [];
    const routable: Member[] = [];
    for (const m of this.#members.values()) {
      if (m.membership !== "active") continue;
      active.push(m);
      if (isRoutable(m.health, now)) routable.push(m);
    }
    return { routable, active };
  }

  #buildSnapshot(now: number): Snapshot {
    const { routable, active } = this.#routable(now);
    const allUnhealthy = active.length > 0 && routable.length === 0;
    const panic = allUnhealthy && (this.#config?.panic.routeToAllWhenNoneHealthy ?? false);
    const chosen = panic ? active : routable;
    return {
      service: this.#name ?? "",
      version: this.#version,
      instances: chosen.map(toSnapshotInstance),
      allUnhealthy,
      panic,
      generatedAt: now,
    };
  }

  #computeSignature(now: number): string {
    const { instances, allUnhealthy } = this.#buildSnapshot(now);
    return `${allUnhealthy ? "!" : ""}${instances.map((i) => `${i.id}:${i.weight}`).join(",")}`;
  }

  /** Bumps the snapshot version when the routable set or a weight changed. */
  #refreshSnapshot(now: number): void {
    const signature = this.#computeSignature(now);
    if (signature === this.#signature) return;
    this.#signature = signature;
    this.#version++;
    this.#table.setMeta("snapshot_version", String(this.#version));
  }

  /** One alarm, at the earliest of: next health round, next lease event, next ejection end. */
  async #arm(): Promise<number | null> {
    if (this.#config === null) return null;
    const after = this.#config.lease.deregisterAfterSeconds;
    let at = this.#nextCheckAt > 0 ? this.#nextCheckAt : Date.now() + this.#config.healthCheck.intervalSeconds * 1000;
    const now = Date.now();
    for (const m of this.#members.values()) {
      at = Math.min(at, nextLeaseEventAt(m, after));
      if (m.health.ejectedUntil !== null && m.health.ejectedUntil > now) at = Math.min(at, m.health.ejectedUntil);
    }
    const current = await this.ctx.storage.getAlarm();
    if (current !== at) await this.ctx.storage.setAlarm(at);
    return at;
  }
}

function toSnapshotInstance(m: Member): SnapshotInstance {
  return { id: m.id, url: m.url, weight: m.weight, zone: m.zone };
}
