import { DurableObject } from "cloudflare:workers";
import type { RegisterRequest } from "../core/membership/member.js";
import { removalRule } from "../core/lease/lease.js";
import { nextAlarmAt } from "../core/membership/schedule.js";
import { buildPolicyIndex, choosePool, hasPriorityLevels, type PolicyIndex } from "../core/policy/priority-pools.js";
import type { ServiceCredentials } from "../core/schema/credentials.js";
import type { ServiceConfig } from "../core/schema/service.js";
import { grantFromPicks, MAX_LEASE_SLOTS, type SlotGrant } from "../core/strict/slot-pool.js";
import { MAX_PICKS_PER_BATCH, type InstanceReport, type Snapshot, type SnapshotInstance } from "../core/snapshot.js";
import type { MetricsDelta } from "../core/metrics/accumulator.js";
import type { ServiceMetrics } from "../core/metrics/prometheus.js";
import type { ServiceStats, StatsWindow } from "../core/metrics/stats.js";
import { AdminQueue } from "../core/admin/admin-queue.js";
import { ADMIN_CLOCK, logQueueEvent, writeServiceDelete, writeServicePut, writeTokenRotation, type AdminHost, type DeleteOutcome, type PutOutcome, type RotateOutcome } from "./admin-writes.js";
import { HealthRounds } from "./health-rounds.js";
import { MetricsStore } from "./metrics/metrics-store.js";
import { STATS_FLUSH_MS, WriteBehind } from "./storage/write-behind.js";
import { serviceMetrics, serviceStats } from "./metrics/metrics-views.js";
import { applyLeases, deregister, heartbeat, Registrations, type RegisterResult } from "./membership.js";
import { repairMirror } from "./outbound/mirror.js";
import { MirrorPurge } from "./outbound/purge.js";
import { applyReports } from "./reports.js";
import { CoordinatorState } from "./state.js";
import { instanceView, type ServiceDescription } from "./views.js";

export { MAX_ACTIVE_INSTANCES, MAX_MEMBERS } from "../core/membership/admission.js";
export type { RegisterResult } from "./membership.js";
export type { AdminRefusal, DeleteOutcome, PutOutcome, RotateOutcome } from "./admin-writes.js";
export type { RegisterRequest };
export type { ServiceDescription };
/** One answer per requested pick, in the order asked; null where every allowed instance was excluded. */
export type PickBatchResult =
  | { ok: true; instances: (SnapshotInstance | null)[]; allUnhealthy: boolean; version: number }
  | { ok: false; error: "too_many_picks"; max: number };
const NOTHING_EXCLUDED: ReadonlySet<string> = new Set();
export interface SweepResult {
  expired: number;
  removed: number;
  mirrorRepaired: number;
  /** Rows that failed validation at load and were reset (repaired) or deleted (corruptRemoved). */
  corruptRepaired: number;
  corruptRemoved: number;
  alarmAt: number | null;
}

/**
 * One per service (idFromName(service)). Owns membership, leases, health and
 * the balancing counters, and hands routers a versioned snapshot. Called only
 * by RPC; every public method is an RPC entry point that wires to the modules
 * beside it (membership, health-rounds, reports, snapshots, state); internals
 * are #private so RPC cannot reach them.
 *
 * Concurrency: outbound I/O (probes, KV writes) opens the input gate, so other
 * RPCs can run in between. Every method therefore makes its state changes
 * synchronously and does its I/O afterwards, and code that resumes after an
 * await looks members up again instead of trusting an object it held before.
 */
export class ServiceCoordinator extends DurableObject<Env> {
  readonly #state: CoordinatorState;
  readonly #health: HealthRounds;
  readonly #metrics: MetricsStore;
  readonly #registrations = new Registrations();
  /** PUT, DELETE and token rotation of this service, one at a time, each answered within 10 s (core/admin/admin-queue.ts, admin-writes.ts). */
  readonly #admin = new AdminQueue(ADMIN_CLOCK, (key, event) => logQueueEvent(this.#state.name, key, event));
  readonly #adminHost: AdminHost;
  readonly #purge: MirrorPurge;
  /** Passive counters and metrics records, written at most once per STATS_FLUSH_MS (storage/write-behind.ts). */
  readonly #statsWrites: WriteBehind;
  /** Strict-mode RPCs: pickBatch calls and their picks, leaseSlots calls and the slots they granted. */
  readonly #strictPicks = { rpcs: 0, picks: 0, leases: 0, slots: 0 };
  readonly #routerRpcs = { snapshots: 0, unchanged: 0, reports: 0 };
  /** The priority grouping of the last snapshot strict picks were made from; rebuilt when the snapshot object changes. */
  #policy: { snap: Snapshot; index: PolicyIndex | null } | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // SQLite is synchronous, so migrations and the load finish before any event is delivered
    // (the input gate holds until the constructor returns). A migration error is thrown out of
    // the constructor rather than swallowed: the object then fails every call and is rebuilt
    // on the next one, instead of running on a half-migrated store.
    this.#state = new CoordinatorState(ctx.storage);
    this.#metrics = new MetricsStore(ctx.storage.sql);
    this.#health = new HealthRounds(this.#state, (p) => ctx.waitUntil(p), (ok) => this.#metrics.count(ok ? "healthChecksPassed" : "healthChecksFailed"));
    this.#purge = new MirrorPurge(this.#state.table);
    this.#statsWrites = new WriteBehind(STATS_FLUSH_MS, () => {
      this.#state.flushCounters();
      this.#metrics.flush();
    });
    this.#adminHost = {
      env,
      state: this.#state,
      adopt: (name, config, version) => this.#adopt(name, config, version),
      forget: (deletedVersion, name) => this.destroy(deletedVersion, name),
    };
  }

  /**
   * Takes up a config read from the service's KV record (the cron sweep's net under a lost
   * config). Ignored when not newer than the one held, and refused (accepted: false) when not newer
   * than the service's deletion: a stale record must not bring a deleted service back.
   */
  async configure(name: string, config: ServiceConfig, configVersion: number, credentials?: ServiceCredentials): Promise<{ accepted: boolean; version: number }> {
    const now = Date.now();
    const accepted = this.#state.applyConfig(name, config, configVersion, now);
    // An object from before coordinators kept the token digests takes the record's (it keeps its own otherwise).
    if (accepted && credentials !== undefined && this.#state.config !== null && this.#state.credentials === null) this.#state.keepCredentials(credentials);
    const { version } = this.#state.snapshot(now);
    await this.#arm();
    return { accepted, version };
  }

  /**
   * `PUT /services/{name}`: the route claim, the KV record and this coordinator's config, after
   * every admin write of the service that arrived before it (admin-writes.ts). `now` is the
   * Worker's clock; `tokenHash` is used only if the service is created.
   */
  async putService(name: string, config: ServiceConfig, now: number, tokenHash: string): Promise<PutOutcome> {
    // The token is new for each API call, so its hash names the call: a retried delivery runs once.
    return this.#admin.run(`put ${tokenHash}`, (turn) => writeServicePut(this.#adminHost, turn, name, config, now, tokenHash));
  }

  /** `DELETE /services/{name}`, in turn with the other admin writes (admin-writes.ts); `callId` is new for each API call. */
  async deleteService(name: string, now: number, callId: string): Promise<DeleteOutcome> {
    return this.#admin.run(`delete ${callId}`, (turn) => writeServiceDelete(this.#adminHost, turn, name, now));
  }

  /** `POST …/registration-token:rotate`, in turn with the other admin writes (admin-writes.ts). */
  async rotateToken(name: string, tokenHash: string, validUntil: number): Promise<RotateOutcome> {
    return this.#admin.run(`rotate ${tokenHash}`, (turn) => writeTokenRotation(this.#adminHost, turn, name, tokenHash, validUntil));
  }

  async #adopt(name: string, config: ServiceConfig, version: number): Promise<void> {
    const now = Date.now();
    this.#state.applyConfig(name, config, version, now);
    this.#state.snapshot(now);
    await this.#arm();
  }

  async register(name: string, config: ServiceConfig, configVersion: number, req: RegisterRequest): Promise<RegisterResult> {
    const result = await this.#registrations.register(this.#state, this.env.REGISTRY, name, config, configVersion, req);
    if (result.ok) await this.#arm();
    return result;
  }

  /** Renews a lease. Null when unknown, expired or draining: the origin must register again. */
  async heartbeat(id: string): Promise<{ leaseExpiresAt: number } | null> {
    return heartbeat(this.#state, id, Date.now());
  }

  /** Starts draining: no new requests; the record is removed once nothing can be in flight to it. */
  async deregister(id: string): Promise<boolean> {
    // After the registrations that arrived before it, so none of them makes the member active again (membership.ts).
    await this.#registrations.settled();
    const found = await deregister(this.#state, this.env.REGISTRY, id);
    if (found) await this.#arm();
    return found;
  }

  /**
   * The routable set. Pass the version you hold to get `null` back when nothing
   * changed; that answer comes without building a snapshot when no state change
   * or ejection end happened since the last one.
   */
  async snapshot(haveVersion?: number): Promise<Snapshot | null> {
    const now = Date.now();
    this.#routerRpcs.snapshots++;
    if (haveVersion === this.#state.snapshots.version && this.#state.snapshots.isCurrent(now)) {
      this.#routerRpcs.unchanged++;
      return null;
    }
    const snap = this.#state.snapshot(now);
    if (haveVersion === snap.version) this.#routerRpcs.unchanged++;
    return haveVersion === snap.version ? null : { ...snap, generatedAt: now };
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
    const snap = this.#state.snapshot(Date.now());
    const balancer = this.#state.balancer;
    const instances = excludes.map((exclude) => {
      const skip = exclude.length === 0 ? NOTHING_EXCLUDED : new Set(exclude);
      // Priority levels hold in strict mode too: each pick draws its level, then rotates within it.
      const pool = this.#priorityPool(snap);
      return (pool === null ? undefined : balancer.pick(pool, skip)) ?? balancer.pick(snap.instances, skip) ?? null;
    });
    return { ok: true, instances, allUnhealthy: snap.allUnhealthy, version: snap.version };
  }

  /**
   * Strict mode by leased slots (core/strict/slot-pool.ts): the next `count`
   * positions of the one rotation, as one block for one isolate to serve in
   * order. The version it carries is what revokes the block: routers void it
   * when they see a newer snapshot. A request over MAX_LEASE_SLOTS is refused
   * whole, like an oversized pickBatch.
   */
  async leaseSlots(count: number): Promise<SlotGrant> {
    this.#strictPicks.rpcs++;
    if (!Number.isInteger(count) || count < 1 || count > MAX_LEASE_SLOTS) return { ok: false, error: "too_many_slots", max: MAX_LEASE_SLOTS };
    this.#strictPicks.leases++;
    const snap = this.#state.snapshot(Date.now());
    const balancer = this.#state.balancer;
    const picks: (SnapshotInstance | undefined)[] = [];
    for (let i = 0; i < count; i++) {
      const pool = this.#priorityPool(snap);
      picks.push((pool === null ? undefined : balancer.pick(pool, NOTHING_EXCLUDED)) ?? balancer.pick(snap.instances, NOTHING_EXCLUDED));
    }
    const grant = grantFromPicks(picks, snap.version, snap.allUnhealthy);
    this.#strictPicks.slots += grant.slots.length;
    return grant;
  }

  /** The level one strict pick draws (core/policy/priority-pools.ts), or null for a snapshot with one level. */
  #priorityPool(snap: Snapshot): readonly SnapshotInstance[] | null {
    if (this.#policy?.snap !== snap) this.#policy = { snap, index: hasPriorityLevels(snap) ? buildPolicyIndex(snap) : null };
    const index = this.#policy.index;
    return index === null ? null : choosePool(index, null, null, Math.random());
  }

  /** Passive outcomes from routers, aggregated per instance, and (from routers with metrics on) their metrics deltas. */
  async report(reports: InstanceReport[], metrics?: MetricsDelta): Promise<{ version: number }> {
    const now = Date.now();
    this.#routerRpcs.reports++;
    if (this.#state.config === null) return { version: this.#state.snapshots.version };
    const ejections = applyReports(this.#state, reports, now, (id) => this.#health.suspect(id, now));
    this.#metrics.count("ejections", ejections);
    if (metrics !== undefined) this.#metrics.apply(metrics, now, (id) => this.#state.members.has(id));
    this.#statsWrites.due();
    const { version } = this.#state.snapshot(now);
    await this.#arm();
    return { version };
  }

  async describe(): Promise<ServiceDescription> {
    const now = Date.now();
    const { version } = this.#state.snapshot(now);
    return {
      service: this.#state.name,
      snapshotVersion: version,
      instances: [...this.#state.members.values()].map((m) => instanceView(m, now)),
      strictPicks: { ...this.#strictPicks },
      routerRpcs: { ...this.#routerRpcs },
    };
  }

  /** Running totals for GET /_mesh/v1/metrics; null when the service does not exist here. */
  async metrics(): Promise<ServiceMetrics | null> {
    // What a scrape shows must already be stored: a reset before the written-behind flush would
    // otherwise take these counters backwards, which Prometheus reads as a reset to zero and
    // rate() counts the whole total again. One flush per scrape (every 15 s or so) costs little.
    const now = Date.now();
    // Deltas prune departed instances' totals, but a quiet service gets none: the scrape does it too.
    if (this.#state.config !== null) this.#metrics.prune(now, (id) => this.#state.members.has(id));
    this.#statsWrites.flushNow();
    return serviceMetrics(this.#state, this.#metrics, now);
  }

  /** GET /_mesh/v1/services/{name}/stats for one window; null when the service does not exist here. */
  async stats(window: StatsWindow): Promise<ServiceStats | null> {
    return serviceStats(this.#state, this.#metrics, window, Date.now());
  }

  /** Cron's safety net: repair bad rows, apply leases, repair the KV mirror, make sure the alarm is armed. */
  async sweep(): Promise<SweepResult> {
    const corrupt = this.#state.repairCorrupt();
    const { expired, removed } = await this.#applyLeases();
    this.#state.snapshot(Date.now());
    const name = this.#state.name;
    const mirrorRepaired = name === null ? 0 : await repairMirror(this.env.REGISTRY, name, this.#state.members);
    const alarmAt = await this.#arm();
    return { expired, removed, mirrorRepaired, corruptRepaired: corrupt.repaired, corruptRemoved: corrupt.removed, alarmAt };
  }

  /**
   * Forget the service. The tables stay (dropping them would break this live
   * object); the snapshot version and a tombstone survive, so versions stay
   * monotonic and a stale register carrying the deleted config is refused.
   */
  async destroy(deletedVersion: number, name?: string): Promise<void> {
    const service = name ?? this.#state.name;
    this.#state.clear(deletedVersion);
    this.#metrics.clear();
    this.#health.forget();
    // Its KV mirror keys go in batches from the alarm (outbound/purge.ts), never all in this invocation.
    if (service !== null) this.#purge.start(service);
    await this.#arm();
  }

  override async alarm(): Promise<void> {
    const config = this.#state.config;
    // One invocation may make 1,000 subrequests, and a purge batch (up to 501) and a health round (one
    // per active member) must not share one: a due round goes first, a batch takes an invocation of its
    // own, and the alarm is re-armed at once for whatever is left.
    const roundDue = config !== null && this.#health.isDue(Date.now());
    const batched = !roundDue && (await this.#purge.step(this.env.REGISTRY, (id) => this.#state.members.get(id)?.membership === "active", Date.now()));
    if (config === null || batched) {
      await this.#arm();
      return;
    }
    // Leases first as well: a round may take as long as its slowest probes, and a member whose
    // lease already ran out should leave the KV mirror now, not after them (and costs no probe).
    await this.#applyLeases();
    await this.#health.runIfDue(config);
    // A round's end leaves no statistics waiting, even if the object is evicted before the timer.
    this.#statsWrites.flushNow();
    await this.#applyLeases();
    this.#state.snapshot(Date.now());
    await this.#arm();
  }

  async #applyLeases(): Promise<{ expired: number; removed: number }> {
    const result = await applyLeases(this.#state, this.env.REGISTRY, Date.now(), (id) => this.#health.forget(id));
    this.#metrics.count("leaseExpirations", result.expired);
    return result;
  }

  /** One alarm, at the earliest of: next health round, next lease event, next ejection end, next purge batch. */
  async #arm(): Promise<number | null> {
    const config = this.#state.config;
    const now = Date.now();
    const purgeAt = this.#purge.dueAt(now);
    if (config === null) {
      if (purgeAt === null) await this.ctx.storage.deleteAlarm();
      else await this.ctx.storage.setAlarm(purgeAt);
      return purgeAt;
    }
    const s = this.#state;
    const due = nextAlarmAt(s.members.values(), s.nextCheckAt, config.healthCheck.intervalSeconds * 1000, removalRule(config), now);
    const at = purgeAt === null ? due : Math.min(due, purgeAt);
    const current = await this.ctx.storage.getAlarm();
    if (current !== at) await this.ctx.storage.setAlarm(at);
    return at;
  }
}
