import { createBalancer, type Balancer, type BalancerKind } from "../core/balance/index.js";
import type { Snapshot, SnapshotInstance } from "../core/snapshot.js";
import { coordinator } from "../coordinator/stub.js";
import { listInstances } from "../registry/kv-registry.js";
import { refreshIdle } from "./refresh-gate.js";
import { withTimeout } from "./with-timeout.js";

/**
 * Per-isolate view of each service's routable instances (snapshot mode).
 *
 * - Warm path: no I/O. The request that finds the snapshot older than
 *   SNAPSHOT_TTL_MS is routed from it and starts a refresh in waitUntil; the
 *   refresh sends the version it holds so an unchanged snapshot costs the DO
 *   nothing but a comparison.
 * - Cold path (first request for a service in this isolate): waits for the DO,
 *   at most DO_TIMEOUT_MS, then falls back to the KV mirror of active members,
 *   treating them all as healthy and relying on failover.
 * - A refresh that fails keeps the coordinator's last snapshot for up to
 *   KEEP_STALE_MS (a blip should not swap health data for the all-healthy KV
 *   mirror); only then does the view switch to KV, re-read every KV_TTL_MS.
 * - Local outlier marks: a broken connection or timeout takes that instance out
 *   of this isolate's rotation at once, for 2 s doubling per repeat (max 30 s),
 *   without waiting for the DO. A new snapshot version clears the marks: by
 *   then the DO has confirmed or refuted them with its own probes.
 * - Stalled instances: while a try to an instance has waited longer than a
 *   quarter of its per-try timeout for response headers, new requests go
 *   elsewhere (if anywhere else is free). A hung origin is thus avoided after
 *   perTryTimeoutMs / 4 instead of after the first timeout, which is when the
 *   local mark would otherwise learn of it.
 */
export const SNAPSHOT_TTL_MS = 1_000;
const KV_TTL_MS = 5_000;
const KEEP_STALE_MS = 30_000;
const DO_TIMEOUT_MS = 1_500;
const LOCAL_MARK_BASE_MS = 2_000;
const LOCAL_MARK_MAX_MS = 30_000;

interface LocalMark {
  until: number;
  strikes: number;
}

export interface ServiceView {
  snapshot: Snapshot;
  fetchedAt: number;
  /** When the coordinator last answered; drives KEEP_STALE_MS. */
  confirmedAt: number;
  source: "coordinator" | "kv";
  balancer: Balancer;
  balancerKind: BalancerKind;
  marks: Map<string, LocalMark>;
  /** Start times of tries still waiting for headers, per instance, oldest first. */
  pending: Map<string, number[]>;
  refreshStartedAt: number | null;
}

const views = new Map<string, ServiceView>();

export function invalidateSnapshot(service: string): void {
  views.delete(service);
}

async function kvSnapshot(env: Env, service: string, now: number): Promise<Snapshot> {
  const instances: SnapshotInstance[] = await listInstances(env.REGISTRY, service);
  return { service, version: -1, instances, allUnhealthy: false, panic: false, generatedAt: now };
}

// Start each isolate's rotation at a random offset so cold isolates do not all pick host 0 first.
const newBalancer = (kind: BalancerKind): Balancer => createBalancer(kind, Math.floor(Math.random() * 1024));

function newView(snapshot: Snapshot, source: ServiceView["source"], kind: BalancerKind, now: number): ServiceView {
  return {
    snapshot,
    fetchedAt: now,
    confirmedAt: source === "coordinator" ? now : 0,
    source,
    balancer: newBalancer(kind),
    balancerKind: kind,
    marks: new Map(),
    pending: new Map(),
    refreshStartedAt: null,
  };
}

function adopt(view: ServiceView, snapshot: Snapshot | null, source: ServiceView["source"], now: number): void {
  view.fetchedAt = now;
  if (source === "coordinator") view.confirmedAt = now;
  const switched = view.source !== source;
  view.source = source;
  // null means "unchanged since the version you sent"; KV snapshots carry no version, so always replace them.
  if (snapshot === null || (!switched && source === "coordinator" && snapshot.version === view.snapshot.version)) return;
  view.snapshot = snapshot;
  view.marks.clear();
}

async function refresh(env: Env, view: ServiceView, service: string): Promise<void> {
  const haveVersion = view.source === "coordinator" ? view.snapshot.version : undefined;
  try {
    const snap = await withTimeout(coordinator(env, service).snapshot(haveVersion), DO_TIMEOUT_MS, "snapshot");
    adopt(view, snap, "coordinator", Date.now());
  } catch (err) {
    const now = Date.now();
    console.error(JSON.stringify({ event: "snapshot_refresh_failed", service, message: String(err) }));
    if (view.source === "coordinator" && now - view.confirmedAt < KEEP_STALE_MS) {
      view.fetchedAt = now;
    } else {
      adopt(view, await kvSnapshot(env, service, now), "kv", now);
    }
  } finally {
    view.refreshStartedAt = null;
  }
}

export async function getServiceView(
  env: Env,
  ctx: ExecutionContext,
  service: string,
  kind: BalancerKind,
  now: number,
): Promise<ServiceView> {
  const view = views.get(service);
  if (view !== undefined) {
    // A balancer change needs a new rotation, not a new snapshot: marks and stall tracking stay.
    if (view.balancerKind !== kind) {
      view.balancer = newBalancer(kind);
      view.balancerKind = kind;
    }
    const ttl = view.source === "kv" ? KV_TTL_MS : SNAPSHOT_TTL_MS;
    if (now - view.fetchedAt >= ttl && refreshIdle(view.refreshStartedAt, now)) {
      view.refreshStartedAt = now;
      ctx.waitUntil(refresh(env, view, service));
    }
    return view;
  }
  let fresh: ServiceView;
  try {
    const snap = await withTimeout(coordinator(env, service).snapshot(), DO_TIMEOUT_MS, "snapshot");
    fresh = snap === null ? newView(await kvSnapshot(env, service, now), "kv", kind, now) : newView(snap, "coordinator", kind, now);
  } catch (err) {
    console.error(JSON.stringify({ event: "snapshot_load_failed", service, message: String(err) }));
    fresh = newView(await kvSnapshot(env, service, now), "kv", kind, now);
  }
  // Concurrent cold requests each loaded a view; the first one stored wins, so
  // balancer position, marks and in-flight tries live in a single place.
  const raced = views.get(service);
  if (raced !== undefined) return raced;
  views.set(service, fresh);
  return fresh;
}

/**
 * Picks from the snapshot, skipping instances tried for this request and,
 * while any other choice exists, instances this isolate has marked down or
 * sees stalled (a try older than `stallMs` still waiting for headers).
 */
export function pickLocal(view: ServiceView, tried: ReadonlySet<string>, now: number, stallMs: number): SnapshotInstance | undefined {
  const all = view.snapshot.instances;
  let avoid: Set<string> | null = null;
  // Expired marks stay (they remember strikes for the doubling) but are not avoided.
  for (const [id, mark] of view.marks) if (mark.until > now) (avoid ??= new Set()).add(id);
  for (const [id, starts] of view.pending) {
    const oldest = starts[0];
    if (oldest !== undefined && now - oldest > stallMs) (avoid ??= new Set()).add(id);
  }
  if (avoid === null) return view.balancer.pick(all, tried);
  const skip = avoid;
  const up = all.filter((i) => !skip.has(i.id));
  return view.balancer.pick(up, tried) ?? view.balancer.pick(all, tried);
}

/** Records a try to `id` starting now; call tryFinished with the same time when headers (or a failure) arrive. */
export function tryStarted(view: ServiceView, id: string, now: number): void {
  const starts = view.pending.get(id);
  if (starts === undefined) view.pending.set(id, [now]);
  else starts.push(now);
}

export function tryFinished(view: ServiceView, id: string, startedAt: number): void {
  const starts = view.pending.get(id);
  if (starts === undefined) return;
  const at = starts.indexOf(startedAt);
  if (at !== -1) starts.splice(at, 1);
  if (starts.length === 0) view.pending.delete(id);
}

export function markDown(view: ServiceView, id: string, now: number): void {
  const strikes = (view.marks.get(id)?.strikes ?? 0) + 1;
  const ms = Math.min(LOCAL_MARK_MAX_MS, LOCAL_MARK_BASE_MS * 2 ** (strikes - 1));
  view.marks.set(id, { until: now + ms, strikes });
  // Ask for a fresh snapshot on the next request instead of waiting out the TTL.
  view.fetchedAt = 0;
}

export function markUp(view: ServiceView, id: string): void {
  if (view.marks.size > 0) view.marks.delete(id);
}
