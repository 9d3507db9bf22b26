import type { SplitRule } from "../schema/traffic-policy.js";
import type { SnapshotInstance } from "../snapshot.js";

/**
 * Canary and traffic split. `split` is an ordered list of rules, each naming
 * the instances it sends to by their labels (`to`, matched against the
 * snapshot's `labels`, i.e. the instance's `metadata`): a header rule takes
 * the requests that carry all its headers, a percent rule a share of the
 * requests; whatever no rule takes goes to "the rest", the instances no
 * percent rule selects. The first rule that takes a request decides; a rule
 * with no routable instance (all unhealthy, or none registered) sends what it
 * takes to the rest instead. Pure: the draw is a parameter.
 */

/** Read access to request headers (names lowercased), as `Headers` has it. */
export interface HeaderReader {
  get(name: string): string | null;
}

/** One rule's candidates, built once per snapshot version. */
export interface SplitGroup<C extends SnapshotInstance = SnapshotInstance> {
  list: readonly C[];
  /** Ids of instances outside the group: what a hash kind (handed the whole list) is told to avoid. */
  outside: ReadonlySet<string>;
}

export interface SplitPlan<C extends SnapshotInstance = SnapshotInstance> {
  rules: readonly SplitRule[];
  /** By rule index. */
  groups: readonly SplitGroup<C>[];
  rest: SplitGroup<C>;
  /** Every instance: the last resort once a group and the rest have nothing untried left. */
  all: SplitGroup<C>;
}

/** The group index for "the rest". */
export const REST = -1;

export function selects(labels: Readonly<Record<string, string>> | undefined, to: Readonly<Record<string, string>>): boolean {
  if (labels === undefined) return false;
  for (const key of Object.keys(to)) if (!Object.hasOwn(labels, key) || labels[key] !== to[key]) return false;
  return true;
}

function group<C extends SnapshotInstance>(all: readonly C[], inGroup: (c: C) => boolean): SplitGroup<C> {
  const list: C[] = [];
  const outside = new Set<string>();
  for (const c of all) {
    if (inGroup(c)) list.push(c);
    else outside.add(c.id);
  }
  return { list, outside };
}

/**
 * The groups for one list of instances. When every instance is selected by
 * some percent rule, the rest would be empty; it is then every instance, so
 * no share of traffic is left with nowhere to go.
 */
export function planSplit<C extends SnapshotInstance>(instances: readonly C[], rules: readonly SplitRule[]): SplitPlan<C> {
  const groups = rules.map((r) => group(instances, (c) => selects(c.labels, r.to)));
  const percentRules = rules.filter((r) => r.percent !== undefined);
  const rest = group(instances, (c) => !percentRules.some((r) => selects(c.labels, r.to)));
  const all: SplitGroup<C> = { list: instances, outside: new Set() };
  return { rules, groups, rest: rest.list.length > 0 ? rest : all, all };
}

function headersMatch(wanted: Readonly<Record<string, string>>, headers: HeaderReader): boolean {
  for (const name of Object.keys(wanted)) if (headers.get(name) !== wanted[name]) return false;
  return true;
}

/**
 * Which group takes a request: a rule index, or REST. `draw` is uniform in
 * [0, 1); percent rules own consecutive bands of it in rule order (5 then 10
 * owns [0, 5 %) then [5 %, 15 %)), so one draw decides among all of them.
 */
export function chooseGroup(plan: SplitPlan, headers: HeaderReader, draw: number): number {
  const point = draw * 100;
  let from = 0;
  for (let i = 0; i < plan.rules.length; i++) {
    const rule = plan.rules[i];
    if (rule === undefined) continue;
    const size = plan.groups[i]?.list.length ?? 0;
    if (rule.percent === undefined) {
      if (rule.match !== undefined && headersMatch(rule.match.header, headers)) return size > 0 ? i : REST;
      continue;
    }
    if (point >= from && point < from + rule.percent) return size > 0 ? i : REST;
    from += rule.percent;
  }
  return REST;
}

function hasUntried(g: SplitGroup, tried: ReadonlySet<string> | undefined): boolean {
  if (tried === undefined || tried.size === 0) return g.list.length > 0;
  for (const c of g.list) if (!tried.has(c.id)) return true;
  return false;
}

/** An instance neither tried nor avoided; with nothing avoided, hasUntried. */
function hasUsable(g: SplitGroup, tried: ReadonlySet<string> | undefined, avoid: ReadonlySet<string> | null): boolean {
  if (avoid === null) return hasUntried(g, tried);
  for (const c of g.list) if (!avoid.has(c.id) && (tried === undefined || !tried.has(c.id))) return true;
  return false;
}

/**
 * The candidates for a try of a request that `chooseGroup` put in `chosen`.
 * A retry whose group has no untried instance left goes to the rest, and then
 * to every instance: a canary that fails is failed over, not answered 503.
 * `avoid` holds what this router has marked down or sees stalled: a group
 * whose every untried instance is avoided is passed over the same way, as
 * locality and priority levels count those as unhealthy (an instance the
 * router knows refused its last connection is no place to send a canary's
 * POST, which is not retried after a refusal). Only when every untried
 * instance is avoided does the group take its request anyway.
 */
export function groupForTry<C extends SnapshotInstance>(
  plan: SplitPlan<C>,
  chosen: number,
  tried: ReadonlySet<string> | undefined,
  avoid: ReadonlySet<string> | null = null,
): SplitGroup<C> {
  const g = chosen === REST ? plan.rest : (plan.groups[chosen] ?? plan.rest);
  if (hasUsable(g, tried, avoid)) return g;
  if (hasUsable(plan.rest, tried, avoid)) return plan.rest;
  if (avoid !== null && hasUsable(plan.all, tried, avoid)) return plan.all;
  if (hasUntried(g, tried)) return g;
  return hasUntried(plan.rest, tried) ? plan.rest : plan.all;
}
