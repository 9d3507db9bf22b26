import { pickLocal, markDown, markUp, recordLatency, tryFinished, tryStarted, untriedCount } from "../../core/local-health/local-pick.js";
import { hashOnOf, type BalancerConfig } from "../../core/balance/index.js";
import { requestHashKey } from "../../core/balance/hash/request-key.js";
import { localityTarget } from "../../core/policy/locality.js";
import type { SnapshotInstance } from "../../core/snapshot.js";
import type { RequestState } from "../request-state.js";
import { cachedLocalState, currentLocalState, getLocalState, loadLocalState } from "../cache/snapshot-cache.js";
import type { LocalServiceState } from "../../core/local-health/local-service-state.js";
import { strictPick } from "./strict-pick-batcher.js";
import { leasedPick, leasesOn, dropLeasedInstance } from "./slot-lease.js";
import { preparePin } from "./session-pin.js";
import { timedOutOnRequestTime } from "../proxy/request-timeout.js";

/**
 * Stage 3, pick: chooses an instance for each try. Snapshot mode picks from
 * this isolate's state for the service (no I/O when warm); strict mode serves
 * slots of the coordinator's rotation leased in blocks (slot-lease.ts), asks
 * the coordinator per pick when leasing is off or a retry's exclusions leave
 * no leased slot (strict-pick-batcher.ts), and falls back to snapshot mode for
 * the rest of the request if it cannot answer. The mode
 * lives in the request state, so no picker object is made per request.
 * preparePick returns a promise only when it must wait (a cold isolate, or
 * the first request after an idle spell). For a hash kind it also reads the
 * request's key (header, cookie, query, client IP or path); for every other
 * kind that costs one type check.
 */
export function preparePick(state: RequestState, env: Env, ctx: ExecutionContext, url: URL): Promise<void> | undefined {
  const loading = prepareSnapshot(state, env, ctx, url);
  // Traffic policies (src/core/policy/): one field check for a service without any.
  const traffic = state.service?.traffic;
  if (traffic === undefined) return loading;
  state.traffic = traffic;
  const pinning = traffic.affinity === undefined ? undefined : preparePin(state, env, state.service?.name ?? "", traffic.affinity);
  if (pinning === undefined) return loading;
  return loading === undefined ? pinning : Promise.all([loading, pinning]).then(() => undefined);
}

function prepareSnapshot(state: RequestState, env: Env, ctx: ExecutionContext, url: URL): Promise<void> | undefined {
  const svc = state.service;
  if (svc === null) throw new Error("pick stage reached without a routed service");
  const hashOn = hashOnOf(svc.balancer);
  if (hashOn !== null) state.hashKey = requestHashKey(hashOn, state.headers, url);
  // request.cf only for a service with locality (core/policy/locality.ts): reading it is a
  // call into the runtime, which a service without locality has no reason to make.
  if (svc.locality !== undefined) state.near = localityTarget(svc.locality, state.request.cf);
  if (svc.mode === "strict") {
    state.strict = true;
    // Leased slots are voided by a newer snapshot version: keep this isolate's snapshot refreshing.
    if (leasesOn(env)) state.local = strictSnapshot(env, ctx, svc.name, svc.balancer, state.started);
    return undefined;
  }
  // After an idle spell the snapshot refresh is awaited, briefly (cache/snapshot-cache.ts, STALE_WAIT_MS).
  const cached = currentLocalState(env, ctx, svc.name, svc.balancer, state.started);
  if (cached instanceof Promise) {
    return cached.then((local) => {
      state.local = local;
    });
  }
  state.local = cached ?? null;
  if (state.local !== null) return undefined;
  // Cold isolate: the one case where this stage waits (for the coordinator, or KV).
  return loadInto(state, env, svc.name, svc.balancer);
}

/** Background snapshot loads for strict services, by start time; one that never settled is retried after this long. */
const strictLoads = new Map<string, number>();
const STRICT_LOAD_STALE_MS = 5_000;

/**
 * Strict mode keeps the isolate's snapshot only to learn the coordinator's
 * version, which voids leased slots. Nothing waits for it: a cold isolate
 * loads it in the background, once per service.
 */
function strictSnapshot(env: Env, ctx: ExecutionContext, service: string, kind: BalancerConfig, now: number): LocalServiceState | null {
  const cached = cachedLocalState(env, ctx, service, kind, now);
  if (cached !== undefined) return cached;
  const started = strictLoads.get(service);
  if (started === undefined || now - started > STRICT_LOAD_STALE_MS) {
    strictLoads.set(service, now);
    const done = (): void => {
      if (strictLoads.get(service) === now) strictLoads.delete(service);
    };
    ctx.waitUntil(loadLocalState(env, service, kind, now).then(done, done));
  }
  return null;
}

async function loadInto(state: RequestState, env: Env, service: string, kind: BalancerConfig): Promise<void> {
  state.local = await loadLocalState(env, service, kind, state.started);
}

/** Snapshot-mode pick; undefined when no untried instance is left. */
export function pickFromLocal(state: RequestState): SnapshotInstance | undefined {
  const local = state.local;
  const svc = state.service;
  if (local === null || svc === null) return undefined;
  // A try waiting for headers longer than a quarter of its timeout marks its instance as stalled.
  return pickLocal(local, state.tried, Date.now(), svc.retry.perTryTimeoutMs / 4, state.hashKey, svc.maxConcurrentRequestsPerInstance, state, state.near, Math.random);
}

/** Strict-mode pick; on a coordinator failure, switches this request to snapshot mode. */
export async function pickFromCoordinator(state: RequestState, env: Env, ctx: ExecutionContext): Promise<SnapshotInstance | undefined> {
  const svc = state.service;
  if (svc === null) return undefined;
  try {
    const tried = state.tried;
    const leased = leasesOn(env) ? await leasedPick(env, ctx, svc.name, tried, state.local) : null;
    const result = leased ?? (await strictPick(env, ctx, svc.name, tried === undefined ? [] : [...tried]));
    state.strictVersion = result.version;
    state.strictAllUnhealthy = result.allUnhealthy;
    return result.instance ?? undefined;
  } catch (err) {
    console.error(JSON.stringify({ event: "strict_pick_failed", service: svc.name, message: String(err) }));
    state.strict = false;
    state.local = await getLocalState(env, ctx, svc.name, svc.balancer, Date.now());
    return pickFromLocal(state);
  }
}

/** Brackets a try so stalled instances can be avoided; returns the token for tryEnded. */
export function tryBegan(state: RequestState, id: string): number {
  if (state.strict || state.local === null) return 0;
  const now = Date.now();
  tryStarted(state.local, id, now);
  return now;
}

/**
 * A try taken at its pick (tryBegan) and only now sent, after upstream
 * security waited: its stall clock starts now, so a slow token fetch does not
 * make the instance look stalled. Returns the new token for tryEnded.
 */
export function tryRestarted(state: RequestState, id: string, token: number): number {
  if (state.strict || state.local === null) return token;
  const now = Date.now();
  if (now === token) return token;
  tryFinished(state.local, id, token);
  tryStarted(state.local, id, now);
  return now;
}

/**
 * Ends a try begun with tryBegan. Its header latency (state.last, the result
 * of this try: tryOrigin never throws) is recorded for the latency-aware
 * balancers when it says something about the origin's speed: an answer, or a
 * timeout. A refused or reset connection fails fast and would look quick.
 */
export function tryEnded(state: RequestState, id: string, token: number): void {
  if (state.strict || state.local === null) return;
  tryFinished(state.local, id, token);
  const last = state.last;
  // A try the client's own upload broke says nothing about the origin's speed, nor does a timeout
  // retry.requestTimeoutMs cut short (proxy/request-timeout.ts): the time was the request's.
  if (state.clientFailed) return;
  if (last !== null && state.lastInstance === id && (last.ok || last.failure.kind === "status" || (last.failure.kind === "timeout" && !timedOutOnRequestTime(state, last.failure.kind)))) {
    recordLatency(state.local, id, last.latencyMs, Date.now());
  }
}

/** A broken connection or a timeout: this isolate avoids the instance for a while. */
export function instanceFailed(state: RequestState, id: string): void {
  if (state.strict) {
    // This isolate serves no more of its leased slots for that instance; the coordinator's health decides the next blocks.
    if (state.service !== null) dropLeasedInstance(state.service.name, id);
    return;
  }
  if (state.local !== null) markDown(state.local, id, Date.now());
}

export function instanceAnswered(state: RequestState, id: string): void {
  if (!state.strict && state.local !== null) markUp(state.local, id);
}

/** Untried instances that could still take a retry. In strict mode only the DO knows: say "some", and let the next pick answer. */
export function instancesLeft(state: RequestState): number {
  if (state.strict || state.local === null) return Number.POSITIVE_INFINITY;
  return untriedCount(state.local, state.tried);
}

/** True when the service has members but none is healthy (vs. no members at all). */
export function allUnhealthy(state: RequestState): boolean {
  if (state.strict || state.local === null) return state.strictAllUnhealthy;
  return state.local.snapshot.allUnhealthy;
}

/** Snapshot mode only: the snapshot has routable instances, so a pick that found none was held back here, not left without any. */
export function routableButNonePicked(state: RequestState): boolean {
  return !state.strict && state.local !== null && state.local.snapshot.instances.length > 0;
}

export function snapshotVersion(state: RequestState): number | null {
  if (state.strict || state.local === null) return state.strictVersion;
  return state.local.snapshot.version;
}
