import type { AffinityConfig, SplitRule } from "../schema/traffic-policy.js";
import type { DrainingInstance, Snapshot, SnapshotInstance } from "../snapshot.js";
import { rampWeights } from "./slow-start.js";
import { chooseGroup, groupForTry, planSplit, selects, type HeaderReader, type SplitGroup, type SplitPlan } from "./split.js";

/**
 * The traffic policies of one service as the edge runs them: what the route
 * table carries (`traffic`, present only when one is configured) and the view
 * of a snapshot they pick from, built once per snapshot version (and per
 * slow-start step), never per request.
 */
export interface TrafficPolicy {
  affinity?: AffinityConfig;
  split?: SplitRule[];
  /** 0: off. */
  slowStartSeconds: number;
}

/** The per-request side: what the request carries and what was decided for it. `RequestState` is one. */
export interface PolicyRequest {
  readonly traffic: TrafficPolicy | null;
  /** Request headers, for header rules. */
  readonly headers: HeaderReader;
  /** The instance id of a verified affinity value; null when none came. */
  readonly pinned: string | null;
  /** The split group chosen at the first pick (UNDECIDED before). */
  splitGroup: number;
}

export const UNDECIDED = -2;

export interface TrafficView {
  snapshot: Snapshot;
  policy: TrafficPolicy;
  hashed: boolean;
  /** The routable instances with slow-start weights (the snapshot's own list for hash kinds, or when nothing ramps). */
  base: readonly SnapshotInstance[];
  /** When `base` must be ramped again. */
  nextAt: number;
  plan: SplitPlan | null;
  /** Affinity only: the routable and the draining instances a pin may name. */
  routable: ReadonlyMap<string, SnapshotInstance> | null;
  draining: ReadonlyMap<string, DrainingInstance> | null;
}

/**
 * The view for `snapshot` at `now`: reused while the snapshot, the policy and
 * the balancer family are the same and no slow-start step is due.
 * `hashed` kinds are not ramped: their ring or table is built per list, and
 * a list re-weighted every step would rebuild it (and move keys) each time.
 */
export function trafficView(held: TrafficView | null, snapshot: Snapshot, policy: TrafficPolicy, hashed: boolean, now: number): TrafficView {
  if (held !== null && held.snapshot === snapshot && held.policy === policy && held.hashed === hashed && now < held.nextAt) return held;
  const ramp =
    policy.slowStartSeconds > 0 && !hashed
      ? rampWeights(snapshot.instances, policy.slowStartSeconds * 1000, now)
      : { list: snapshot.instances, nextAt: Number.POSITIVE_INFINITY };
  const affinity = policy.affinity !== undefined;
  return {
    snapshot,
    policy,
    hashed,
    base: ramp.list,
    nextAt: ramp.nextAt,
    plan: policy.split === undefined ? null : planSplit(ramp.list, policy.split),
    routable: affinity ? new Map(snapshot.instances.map((i) => [i.id, i])) : null,
    draining: affinity ? new Map((snapshot.draining ?? []).map((i) => [i.id, i])) : null,
  };
}

const EVERYTHING_OUTSIDE: ReadonlySet<string> = new Set();

/**
 * The request's split group, chosen once at its first pick (a retry stays in
 * the group the request was put in); null when the service has no split.
 * `avoid`: what this router has marked down or sees stalled (groupForTry).
 */
export function requestGroup(
  view: TrafficView,
  req: PolicyRequest,
  tried: ReadonlySet<string> | undefined,
  random: () => number,
  avoid: ReadonlySet<string> | null = null,
): SplitGroup | null {
  if (view.plan === null) return null;
  if (req.splitGroup === UNDECIDED) req.splitGroup = chooseGroup(view.plan, req.headers, random());
  return groupForTry(view.plan, req.splitGroup, tried, avoid);
}

/** What a pick may choose from when no pin applies: the group's list, or the whole (ramped) list. */
export function candidatesOf(view: TrafficView, group: SplitGroup | null): SplitGroup {
  return group ?? { list: view.base, outside: EVERYTHING_OUTSIDE };
}

/**
 * The pinned instance, if the pin still holds (call requestGroup first, so a
 * header rule has been applied): the instance is routable (or
 * draining, until its pinUntil), this request has not tried it, this isolate
 * has not marked it down, and a header rule that took the request does not
 * name other instances (a tester asking for the canary gets the canary).
 * Otherwise undefined, and the pick goes on as for a new session; the
 * response then re-pins.
 */
export function pinnedInstance(
  view: TrafficView,
  req: PolicyRequest,
  markedUntil: (id: string) => number,
  tried: ReadonlySet<string> | undefined,
  now: number,
): SnapshotInstance | undefined {
  const id = req.pinned;
  if (id === null || view.routable === null) return undefined;
  if (tried !== undefined && tried.has(id)) return undefined;
  if (markedUntil(id) > now) return undefined;
  let pinned: SnapshotInstance | undefined = view.routable.get(id);
  if (pinned === undefined) {
    const draining = view.draining?.get(id);
    if (draining === undefined || draining.pinUntil <= now) return undefined;
    pinned = draining;
  }
  const rule = req.splitGroup >= 0 ? view.plan?.rules[req.splitGroup] : undefined;
  if (rule?.match !== undefined && !selects(pinned.labels, rule.to)) return undefined;
  return pinned;
}
