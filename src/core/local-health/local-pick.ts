import { candidatesOf, pinnedInstance, requestGroup, trafficView, type PolicyRequest } from "../policy/traffic-view.js";
import { preferredGroup, type LocalityTarget } from "../policy/locality.js";
import { buildPolicyIndex, drawLevel } from "../policy/priority-pools.js";
import type { SnapshotInstance } from "../snapshot.js";
import type { LocalServiceState } from "./local-service-state.js";
import { excludedFromPick } from "../flow/concurrency.js";

/**
 * Local outlier marks: a broken connection or timeout takes an instance out of
 * this isolate's rotation at once, for LOCAL_MARK_BASE_MS doubling per repeat
 * (at most LOCAL_MARK_MAX_MS), without waiting for the coordinator.
 *
 * Stall avoidance: while a try to an instance has waited longer than `stallMs`
 * for response headers, new picks go elsewhere (if anywhere else is free), so
 * a hung origin is avoided long before the first try to it times out.
 */
export const LOCAL_MARK_BASE_MS = 2_000;
export const LOCAL_MARK_MAX_MS = 30_000;

/**
 * Picks from the snapshot, skipping instances tried for this request and,
 * while any other choice exists, instances marked down or seen stalled.
 * `key` is the request's hash key (hash kinds only). `maxPerInstance` is the
 * service's maxConcurrentRequestsPerInstance: an instance with that many tries
 * in flight here is skipped outright, as is one held back by its Retry-After.
 * `request` carries the service's traffic policies, if it has any (see
 * narrowByPolicy).
 * `target` is what the request prefers under the service's `locality` (null:
 * no locality, or the request does not say where it is); `random` draws the
 * priority level and the split.
 */
export function pickLocal(
  state: LocalServiceState,
  triedOnly: ReadonlySet<string> | undefined,
  now: number,
  stallMs: number,
  key?: string,
  maxPerInstance?: number,
  request?: PolicyRequest,
  target: LocalityTarget | null = null,
  random: () => number = Math.random,
): SnapshotInstance | undefined {
  // Concurrency caps and Retry-After holds (core/flow/): never picked, so they join the tried set.
  const tried = excludedFromPick(state, triedOnly, now, maxPerInstance);
  let all: readonly SnapshotInstance[] = state.snapshot.instances;
  let avoid: Set<string> | null = null;
  // Expired marks stay (they remember strikes for the doubling) but are not avoided.
  for (const [id, mark] of state.marks) if (mark.until > now) (avoid ??= new Set()).add(id);
  for (const [id, starts] of state.pending) {
    const oldest = starts[0];
    if (oldest !== undefined && now - oldest > stallMs) (avoid ??= new Set()).add(id);
  }
  // Traffic policies: one field check when the service has none.
  let outside: ReadonlySet<string> | null = null;
  if (request !== undefined && request.traffic !== null) {
    const narrowed = narrowByPolicy(state, request, tried, avoid, now, random);
    if (!Array.isArray(narrowed)) return narrowed;
    [all, outside] = narrowed;
  }
  // Traffic policies: a service with neither priority levels nor locality pays these two checks and nothing more.
  // They narrow after the split group (and its outsiders, for a hash kind), never instead of it.
  if (target !== null || state.levels) {
    const picked = pickInPolicyPool(state, all, outside, avoid, tried, key, target, random);
    if (picked !== undefined) return picked;
  }
  if (outside !== null) return pickHashedWithin(state, all, outside, avoid, tried, key);
  return pickAvoiding(state, all, avoid, tried, key);
}

/**
 * The narrowing step: the priority level this request draws and, within it,
 * the locality group it prefers (core/policy/priority-pools.ts), and a pick
 * among those not avoided nor tried. A retry that has used up the group goes
 * on to the rest of its level; undefined sends the caller to the whole
 * snapshot, so a retry whose level is used up still reaches every other
 * routable instance.
 */
function pickInPolicyPool(
  state: LocalServiceState,
  all: readonly SnapshotInstance[],
  outside: ReadonlySet<string> | null,
  avoid: Set<string> | null,
  tried: ReadonlySet<string> | undefined,
  key: string | undefined,
  target: LocalityTarget | null,
  random: () => number,
): SnapshotInstance | undefined {
  const level = drawLevel((state.policy ??= buildPolicyIndex(state.snapshot)), avoid, random());
  if (level === undefined) return undefined;
  if (target !== null) {
    const group = preferredGroup(target, level.zones, level.places, avoid);
    const picked = group === null ? undefined : pickInPool(state, group.instances, all, outside, avoid, tried, key);
    if (picked !== undefined) return picked;
  }
  return pickInPool(state, level.all.instances, all, outside, avoid, tried, key);
}

/** A pick within `pool` (instances of the policy index), narrowed to the entries of `all`; undefined when none is left. */
function pickInPool(
  state: LocalServiceState,
  pool: readonly SnapshotInstance[],
  all: readonly SnapshotInstance[],
  outside: ReadonlySet<string> | null,
  avoid: Set<string> | null,
  tried: ReadonlySet<string> | undefined,
  key: string | undefined,
): SnapshotInstance | undefined {
  if (pool === all) return undefined;
  if (all !== state.snapshot.instances) {
    // A split group or slow start replaced the list: the pool takes the list's own entries (the group's members,
    // with their ramped weights), not the snapshot's, which the policy index was built from.
    const byId = new Map(all.map((i) => [i.id, i]));
    const narrowed: SnapshotInstance[] = [];
    for (const i of pool) {
      const own = byId.get(i.id);
      if (own !== undefined) narrowed.push(own);
    }
    pool = narrowed;
  } else if (outside !== null) {
    // A hash kind in a split group: the pool keeps only the group's members.
    pool = pool.filter((i) => !outside.has(i.id));
  }
  if (pool.length === 0) return undefined;
  if (state.hashed) {
    // A hash kind keeps the snapshot's own list (its table is cached per list) and leaves the rest out by exclusion.
    const skip = new Set<string>();
    for (const i of all) skip.add(i.id);
    for (const i of pool) skip.delete(i.id);
    if (avoid !== null) for (const id of avoid) skip.add(id);
    if (tried !== undefined) for (const id of tried) skip.add(id);
    return state.balancer.pick(all, skip, state.load, key);
  }
  const skip = avoid;
  const up = skip === null ? pool : pool.filter((i) => !skip.has(i.id));
  return state.balancer.pick(up, tried, state.load, key);
}

function pickAvoiding(
  state: LocalServiceState,
  all: readonly SnapshotInstance[],
  avoid: Set<string> | null,
  tried: ReadonlySet<string> | undefined,
  key: string | undefined,
): SnapshotInstance | undefined {
  if (avoid === null) return state.balancer.pick(all, tried, state.load, key);
  const skip = avoid;
  if (state.hashed) {
    // A hash kind's table is cached per list, so it always gets the snapshot's
    // own array and avoids through exclusion: a key whose host is marked moves
    // to the next host on the ring (or table), and comes back when the mark ends.
    if (tried !== undefined) for (const id of tried) skip.add(id);
    return state.balancer.pick(all, skip, state.load, key) ?? state.balancer.pick(all, tried, state.load, key);
  }
  const up = all.filter((i) => !skip.has(i.id));
  return state.balancer.pick(up, tried, state.load) ?? state.balancer.pick(all, tried, state.load);
}

/**
 * The narrowing step of the traffic policies (src/core/policy/): a pinned
 * session's instance when its pin holds, else the candidates of the request's
 * split group with slow-start weights, as [list, ids a hash kind must avoid
 * (null: none)]. Hash kinds keep the snapshot's own list (their table is
 * built per list) and are told to avoid the instances outside the group.
 */
function narrowByPolicy(
  state: LocalServiceState,
  request: PolicyRequest,
  tried: ReadonlySet<string> | undefined,
  avoid: ReadonlySet<string> | null,
  now: number,
  random: () => number,
): SnapshotInstance | [readonly SnapshotInstance[], ReadonlySet<string> | null] {
  const traffic = request.traffic;
  if (traffic === null) return [state.snapshot.instances, null];
  const view = (state.traffic = trafficView(state.traffic, state.snapshot, traffic, state.hashed, now));
  // A group this router avoids entirely (marked down, stalled) passes its request on as an unhealthy one does.
  const group = requestGroup(view, request, tried, random, avoid);
  const pinned = pinnedInstance(view, request, (id) => state.marks.get(id)?.until ?? 0, tried, now);
  if (pinned !== undefined) return pinned;
  const { list, outside } = candidatesOf(view, group);
  if (!state.hashed) return [list, null];
  return [state.snapshot.instances, outside.size === 0 ? null : outside];
}

/** A hash kind within a split group: the group's outsiders are avoided like tried ones; marked ones only while another choice exists. */
function pickHashedWithin(
  state: LocalServiceState,
  all: readonly SnapshotInstance[],
  outside: ReadonlySet<string>,
  avoid: ReadonlySet<string> | null,
  tried: ReadonlySet<string> | undefined,
  key: string | undefined,
): SnapshotInstance | undefined {
  if (avoid === null && (tried === undefined || tried.size === 0)) return state.balancer.pick(all, outside, state.load, key);
  const hard = new Set(outside);
  if (tried !== undefined) for (const id of tried) hard.add(id);
  if (avoid === null) return state.balancer.pick(all, hard, state.load, key);
  const soft = new Set(hard);
  for (const id of avoid) soft.add(id);
  return state.balancer.pick(all, soft, state.load, key) ?? state.balancer.pick(all, hard, state.load, key);
}

/** Untried instances in the snapshot, marked or not: what a retry could still reach. */
export function untriedCount(state: LocalServiceState, tried: ReadonlySet<string> | undefined): number {
  if (tried === undefined) return state.snapshot.instances.length;
  let n = 0;
  for (const i of state.snapshot.instances) if (!tried.has(i.id)) n++;
  return n;
}

/** Records a try to `id` starting at `now`; call tryFinished with the same time when headers (or a failure) arrive. */
export function tryStarted(state: LocalServiceState, id: string, now: number): void {
  const starts = state.pending.get(id);
  if (starts === undefined) state.pending.set(id, [now]);
  else starts.push(now);
}

export function tryFinished(state: LocalServiceState, id: string, startedAt: number): void {
  const starts = state.pending.get(id);
  if (starts === undefined) return;
  const at = starts.indexOf(startedAt);
  if (at !== -1) starts.splice(at, 1);
  if (starts.length === 0) state.pending.delete(id);
}

/**
 * A try to `id` got its response headers after `latencyMs` (at `now`): kept
 * as the instance's latest latency, and handed to a latency-aware balancer
 * (peak_ewma) as a time-stamped observation.
 */
export function recordLatency(state: LocalServiceState, id: string, latencyMs: number, now: number): void {
  state.latency.set(id, latencyMs);
  state.balancer.observe?.(id, latencyMs, now);
}

export function markDown(state: LocalServiceState, id: string, now: number): void {
  const strikes = (state.marks.get(id)?.strikes ?? 0) + 1;
  const ms = Math.min(LOCAL_MARK_MAX_MS, LOCAL_MARK_BASE_MS * 2 ** (strikes - 1));
  state.marks.set(id, { until: now + ms, strikes });
  // Ask for a fresh snapshot on the next request instead of waiting out the TTL.
  state.refreshDue = true;
}

export function markUp(state: LocalServiceState, id: string): void {
  if (state.marks.size > 0) state.marks.delete(id);
}
