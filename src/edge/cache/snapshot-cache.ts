import type { BalancerConfig } from "../../core/balance/index.js";
import { adoptSnapshot, newLocalServiceState, useBalancerKind, type LocalServiceState } from "../../core/local-health/local-service-state.js";
import type { Snapshot, SnapshotInstance } from "../../core/snapshot.js";
import { claimOrFollow, type ClaimOutcome, type RefreshClaim } from "../../core/location-share/refresh-claim.js";
import { coordinator } from "../../coordinator/stub.js";
import { listInstances } from "../../registry/kv-registry.js";
import {
  deleteLocationCopy,
  readLocationCopy,
  readRefreshClaim,
  writeLocationCopy,
  writeRefreshClaim,
  type LocationCopy,
} from "./location-copy.js";
import { refreshIdle } from "./refresh-gate.js";
import { withTimeout } from "./with-timeout.js";

/**
 * Per-isolate state of each service's routable instances (snapshot mode); the
 * rules that act on it (local marks, stall avoidance, adopting a snapshot) are
 * pure and live in src/core/local-health/.
 *
 * - Warm path: no I/O. The request that finds the snapshot older than
 *   SNAPSHOT_TTL_MS is routed from it and starts a refresh in waitUntil; the
 *   refresh sends the version it holds so an unchanged snapshot costs the DO
 *   nothing but a comparison.
 * - Cold path (first request for a service in this isolate): waits for the DO,
 *   at most DO_TIMEOUT_MS, then falls back to the KV mirror of active members,
 *   treating them all as healthy and relying on failover.
 * - After an idle spell (snapshot older than STALE_AFTER_MS, which a busy
 *   isolate never reaches since each second's first request refreshes it), the
 *   request that notices waits for the refresh it starts, at most
 *   STALE_WAIT_MS, so it is not routed on health news that is seconds old;
 *   past the bound it goes ahead with the old snapshot.
 * - A refresh that is merely due (not asked for by a local mark) first reads
 *   the location's shared copy (location-copy.ts) and asks the coordinator only
 *   when that copy is missing, older than the TTL or older than what is held;
 *   of the isolates that find it so together, one asks (a claim beside the
 *   copy, core/location-share/refresh-claim.ts) and the others wait for its
 *   answer, which is left as the location's new copy. Set
 *   SNAPSHOT_SHARING = "off" to have every isolate ask the coordinator.
 * - A refresh that fails keeps the coordinator's last snapshot for up to
 *   KEEP_STALE_MS (a blip should not swap health data for the all-healthy KV
 *   mirror); only then does the state switch to KV, re-read every KV_TTL_MS.
 */
export const SNAPSHOT_TTL_MS = 1_000;
const KV_TTL_MS = 5_000;
const KEEP_STALE_MS = 30_000;
const DO_TIMEOUT_MS = 1_500;
/**
 * Twice the TTL: under steady traffic a snapshot is refreshed once it is a
 * second old and the refresh takes one RPC, so only an isolate that sat idle
 * sees an older one. The shortest health interval is 1 s, and an instance
 * needs `unhealthyThreshold` failed rounds to be marked, so a snapshot under
 * 2 s old misses at most about one round of health news.
 */
export const STALE_AFTER_MS = 2 * SNAPSHOT_TTL_MS;
/** The longest a request waits for that refresh (one coordinator RPC, a few ms when the DO is near). */
export const STALE_WAIT_MS = 150;

const states = new Map<string, LocalServiceState>();

/** Services whose next load must come from the coordinator: this isolate changed their membership. */
const skipCopy = new Set<string>();

/**
 * Drops this isolate's state for a service whose membership it has just
 * changed (a registration or deregistration through the API), so the next
 * request loads the new snapshot from the coordinator: the location's copy
 * predates the change, and is dropped too.
 */
export function invalidateSnapshot(service: string): Promise<void> {
  states.delete(service);
  skipCopy.add(service);
  return deleteLocationCopy(service);
}

async function kvSnapshot(env: Env, service: string, now: number): Promise<Snapshot> {
  const instances: SnapshotInstance[] = await listInstances(env.REGISTRY, service);
  return { service, version: -1, instances, allUnhealthy: false, panic: false, generatedAt: now };
}

const sharing = (env: Env): boolean => env.SNAPSHOT_SHARING !== "off";

/**
 * With sharing on, each isolate refreshes up to this much before the TTL, at
 * a point of its own. Isolates that adopted one copy share its age, so without
 * a spread they would all fall due at the same instant, each find the copy
 * just expired, and all ask the coordinator. With it, the one with the longest
 * lead asks first and the others find its copy young. The staleness bound
 * stays SNAPSHOT_TTL_MS.
 */
const SHARE_SPREAD_MS = 300;
let lead: number | null = null;
/** This isolate's lead, drawn on first use (not at startup, where randomness is not meant to be drawn). */
function shareTtl(): number {
  lead ??= Math.floor(Math.random() * SHARE_SPREAD_MS);
  return SNAPSHOT_TTL_MS - lead;
}

/** While this isolate avoids an instance, a copy fetched before its mark could bring the instance back. */
function holdsActiveMark(state: LocalServiceState, now: number): boolean {
  for (const mark of state.marks.values()) if (mark.until > now) return true;
  return false;
}

/** A copy this isolate may adopt: fresh, and not older than what `state` holds. */
function usableCopy(state: LocalServiceState, copy: LocationCopy): boolean {
  if (Date.now() - copy.fetchedAt >= shareTtl()) return false;
  return !(state.source === "coordinator" && copy.snapshot.version < state.snapshot.version);
}

/**
 * How a due refresh uses the location's copy: "claim" settles with the other
 * isolates falling due which one asks; "go" claims too but asks at once,
 * without the settle wait (a request is waiting on this refresh); "off" asks
 * the coordinator straight away.
 */
type Share = "claim" | "go" | "off";

async function fromLocation(state: LocalServiceState, service: string, share: Share): Promise<ClaimOutcome<LocationCopy>> {
  if (share === "off") return { kind: "ask" };
  const store = {
    readCopy: () => readLocationCopy(service),
    readClaim: () => readRefreshClaim(service),
    putClaim: (claim: RefreshClaim) => writeRefreshClaim(service, claim),
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    now: () => Date.now(),
  };
  const rules = {
    usable: (copy: LocationCopy) => usableCopy(state, copy),
    // A mark made while following: the claimer's copy may predate the failure, so this isolate asks itself.
    abandon: () => state.refreshDue || holdsActiveMark(state, Date.now()),
    settle: share === "claim",
  };
  try {
    return await claimOrFollow(store, crypto.randomUUID(), rules);
  } catch (err) {
    // A cache that fails its claim calls costs this isolate its own RPC, as without sharing.
    console.error(JSON.stringify({ event: "location_copy_failed", service, message: String(err) }));
    return { kind: "ask" };
  }
}

async function refresh(env: Env, state: LocalServiceState, service: string, share: Share): Promise<void> {
  const haveVersion = state.source === "coordinator" ? state.snapshot.version : undefined;
  try {
    const shared = await fromLocation(state, service, share);
    if (shared.kind === "adopt") {
      // Aged from when the coordinator answered, so the next refresh falls due as if this isolate had asked.
      adoptSnapshot(state, shared.copy.snapshot, "coordinator", shared.copy.fetchedAt);
      return;
    }
    const snap = await withTimeout(coordinator(env, service).snapshot(haveVersion), DO_TIMEOUT_MS, "snapshot");
    const fetchedAt = Date.now();
    adoptSnapshot(state, snap, "coordinator", fetchedAt);
    if (sharing(env)) await writeLocationCopy(service, { snapshot: state.snapshot, fetchedAt });
  } catch (err) {
    const now = Date.now();
    console.error(JSON.stringify({ event: "snapshot_refresh_failed", service, message: String(err) }));
    if (state.source === "coordinator" && now - state.confirmedAt < KEEP_STALE_MS) {
      state.fetchedAt = now;
    } else {
      adoptSnapshot(state, await kvSnapshot(env, service, now), "kv", now);
    }
  } finally {
    state.refreshStartedAt = null;
  }
}

/**
 * The warm path, synchronous so a warm request awaits nothing here: the
 * service's state if this isolate holds it (starting a background refresh when
 * it is due), else undefined and the caller loads it with loadLocalState.
 */
export function cachedLocalState(
  env: Env,
  ctx: ExecutionContext,
  service: string,
  kind: BalancerConfig,
  now: number,
): LocalServiceState | undefined {
  const state = states.get(service);
  if (state === undefined) return undefined;
  // The refresh is held open by ctx.waitUntil inside; a warm request routes from the state it has.
  void startRefreshIfDue(env, ctx, state, service, kind, now);
  return state;
}

/**
 * As cachedLocalState, but a snapshot from the coordinator older than
 * STALE_AFTER_MS (an idle isolate) comes back as a promise: the refresh this
 * request started, bounded by STALE_WAIT_MS. Only the request that starts the
 * refresh waits on it (a promise begun by another request may be cancelled
 * with that request); concurrent ones use the snapshot they find.
 */
export function currentLocalState(
  env: Env,
  ctx: ExecutionContext,
  service: string,
  kind: BalancerConfig,
  now: number,
): LocalServiceState | Promise<LocalServiceState> | undefined {
  const state = states.get(service);
  if (state === undefined) return undefined;
  const refreshing = startRefreshIfDue(env, ctx, state, service, kind, now);
  if (refreshing === null || state.source !== "coordinator" || now - state.fetchedAt < STALE_AFTER_MS) return state;
  return withTimeout(refreshing, STALE_WAIT_MS, "stale snapshot refresh").then(
    () => state,
    () => state,
  );
}

/** Starts a background refresh when the state is past its TTL and none is running; returns it, else null. */
function startRefreshIfDue(
  env: Env,
  ctx: ExecutionContext,
  state: LocalServiceState,
  service: string,
  kind: BalancerConfig,
  now: number,
): Promise<void> | null {
  useBalancerKind(state, kind, Math.random);
  const ttl = state.source === "kv" ? KV_TTL_MS : sharing(env) ? shareTtl() : SNAPSHOT_TTL_MS;
  if ((!state.refreshDue && now - state.fetchedAt < ttl) || !refreshIdle(state.refreshStartedAt, now)) return null;
  state.refreshStartedAt = now;
  // A refresh a local mark asked for, or any while a mark holds, goes to the coordinator: the copy may predate the failure.
  const shared = sharing(env) && !state.refreshDue && !holdsActiveMark(state, now);
  // After an idle spell the request waits for this refresh (currentLocalState), so it skips the claim's settle wait.
  const share: Share = !shared ? "off" : state.source === "coordinator" && now - state.fetchedAt >= STALE_AFTER_MS ? "go" : "claim";
  // A mark made while this refresh runs asks for the next one.
  state.refreshDue = false;
  const refreshing = refresh(env, state, service, share);
  ctx.waitUntil(refreshing);
  return refreshing;
}

/** The cold path: asks the coordinator (bounded by DO_TIMEOUT_MS), else the KV mirror. */
export async function loadLocalState(env: Env, service: string, kind: BalancerConfig, now: number): Promise<LocalServiceState> {
  let fresh: LocalServiceState;
  // A cold isolate takes the location's copy when it is fresh, like a warm one.
  const copy = sharing(env) && !skipCopy.delete(service) ? await readLocationCopy(service) : null;
  if (copy !== null && Date.now() - copy.fetchedAt < shareTtl()) {
    return keepFirst(service, newLocalServiceState(copy.snapshot, "coordinator", kind, copy.fetchedAt, Math.random));
  }
  try {
    const snap = await withTimeout(coordinator(env, service).snapshot(), DO_TIMEOUT_MS, "snapshot");
    if (snap === null) {
      fresh = newLocalServiceState(await kvSnapshot(env, service, now), "kv", kind, now, Math.random);
    } else {
      fresh = newLocalServiceState(snap, "coordinator", kind, now, Math.random);
      if (sharing(env)) await writeLocationCopy(service, { snapshot: snap, fetchedAt: Date.now() });
    }
  } catch (err) {
    console.error(JSON.stringify({ event: "snapshot_load_failed", service, message: String(err) }));
    fresh = newLocalServiceState(await kvSnapshot(env, service, now), "kv", kind, now, Math.random);
  }
  return keepFirst(service, fresh);
}

/**
 * Concurrent cold requests each loaded a state; the first one stored wins, so
 * balancer position, marks and in-flight tries live in a single place.
 */
function keepFirst(service: string, fresh: LocalServiceState): LocalServiceState {
  const raced = states.get(service);
  if (raced !== undefined) return raced;
  states.set(service, fresh);
  return fresh;
}

export async function getLocalState(
  env: Env,
  ctx: ExecutionContext,
  service: string,
  kind: BalancerConfig,
  now: number,
): Promise<LocalServiceState> {
  return cachedLocalState(env, ctx, service, kind, now) ?? (await loadLocalState(env, service, kind, now));
}
