import type { Snapshot, SnapshotGroup, SnapshotInstance } from "../snapshot.js";
import { toRadians, type GeoPoint } from "./geo.js";
import { healthyIn, preferredGroup, zoneKey, type LocalityGroup, type LocalityTarget, type PlacedGroup, type ZoneKey } from "./locality.js";
import { chooseLevel, priorityLoads } from "./priority.js";

/**
 * A snapshot's instances grouped by priority level, and within each level by
 * zone and by location: built once per snapshot version (it depends on
 * nothing else), so a request only counts and chooses. `levels` is in
 * priority order, and holds levels that have members but nothing routable,
 * since they still count in the priority arithmetic.
 */
export interface PriorityLevel {
  priority: number;
  all: LocalityGroup<SnapshotInstance>;
  /** Keyed by zoneKey(zone): "sjc" and "SJC" are one group. The instances keep the zone they registered. */
  zones: Map<ZoneKey, LocalityGroup<SnapshotInstance>>;
  places: PlacedGroup<SnapshotInstance>[];
}

export interface PolicyIndex {
  levels: PriorityLevel[];
  /** Each level's share of traffic while this router avoids no instance: the common case, computed once. Null for one level. */
  loads: number[] | null;
}

interface Building {
  priority: number;
  all: { instances: SnapshotInstance[]; total: number };
  zones: Map<ZoneKey, { instances: SnapshotInstance[]; total: number }>;
  places: Map<string, PlacedGroup<SnapshotInstance> & { instances: SnapshotInstance[] }>;
}

const placeKey = (p: GeoPoint) => `${p.latitude},${p.longitude}`;

function levelOf(levels: Map<number, Building>, priority: number): Building {
  let level = levels.get(priority);
  if (level === undefined) {
    level = { priority, all: { instances: [], total: 0 }, zones: new Map(), places: new Map() };
    levels.set(priority, level);
  }
  return level;
}

function groupIn<K, G extends { instances: SnapshotInstance[]; total: number }>(map: Map<K, G>, key: K, make: () => G): G {
  let g = map.get(key);
  if (g === undefined) {
    g = make();
    map.set(key, g);
  }
  return g;
}

/** Adds `count` members with these attributes (and, when given, the routable instance itself). */
function add(levels: Map<number, Building>, g: Omit<SnapshotGroup, "total">, count: number, instance: SnapshotInstance | null): void {
  const level = levelOf(levels, g.priority);
  const targets: { instances: SnapshotInstance[]; total: number }[] = [level.all];
  if (g.zone !== null) targets.push(groupIn(level.zones, zoneKey(g.zone), () => ({ instances: [], total: 0 })));
  const point = g.location;
  if (point !== null) targets.push(groupIn(level.places, placeKey(point), () => ({ instances: [], total: 0, point, at: toRadians(point) })));
  for (const t of targets) {
    t.total += count;
    if (instance !== null) t.instances.push(instance);
  }
}

export function buildPolicyIndex(snapshot: Snapshot): PolicyIndex {
  const levels = new Map<number, Building>();
  const counted = snapshot.groups !== undefined;
  // Panic routes to every member regardless of level (docs/api.md): one level, so locality may still narrow it.
  const levelOfMember = (priority: number | undefined) => (snapshot.panic ? 0 : (priority ?? 0));
  for (const i of snapshot.instances) {
    // With groups, totals come from them (they include the unroutable members); without, each routable instance counts once.
    add(levels, { priority: levelOfMember(i.priority), zone: i.zone, location: i.location ?? null }, counted ? 0 : 1, i);
  }
  for (const g of snapshot.groups ?? []) add(levels, { ...g, priority: levelOfMember(g.priority) }, g.total, null);
  const sorted = [...levels.values()]
    .sort((a, b) => a.priority - b.priority)
    .map((l) => ({ priority: l.priority, all: l.all, zones: l.zones, places: [...l.places.values()] }));
  return { levels: sorted, loads: sorted.length > 1 ? levelLoads(sorted, null) : null };
}

function levelLoads(levels: readonly PriorityLevel[], avoid: ReadonlySet<string> | null): number[] {
  return priorityLoads(levels.map((l) => ({ healthy: healthyIn(l.all, avoid), total: l.all.total })));
}

/** True when a snapshot has more than one priority level among its members: only then does priority narrow anything. */
export function hasPriorityLevels(snapshot: Snapshot): boolean {
  if (snapshot.panic) return false;
  const first = snapshot.groups?.[0]?.priority ?? snapshot.instances[0]?.priority ?? 0;
  for (const g of snapshot.groups ?? []) if (g.priority !== first) return true;
  for (const i of snapshot.instances) if ((i.priority ?? 0) !== first) return true;
  return false;
}

/**
 * The priority level one request draws (Envoy's priority load; `draw` in
 * [0, 1)). `avoid` holds what this isolate has marked down or sees stalled:
 * they count as unhealthy here. Undefined when no level has a healthy member.
 */
export function drawLevel(index: PolicyIndex, avoid: ReadonlySet<string> | null, draw: number): PriorityLevel | undefined {
  if (index.loads === null) return index.levels[0];
  // Marks and stalls change by the request, so only then are the loads counted again.
  return index.levels[chooseLevel(avoid === null ? index.loads : levelLoads(index.levels, avoid), draw)];
}

/**
 * The instances one request may be balanced over: the level drawLevel
 * chooses, then the locality group it prefers within that level. Null when
 * no level has a healthy member (then the caller balances over everything,
 * as without priorities).
 */
export function choosePool(
  index: PolicyIndex,
  target: LocalityTarget | null,
  avoid: ReadonlySet<string> | null,
  draw: number,
): readonly SnapshotInstance[] | null {
  const level = drawLevel(index, avoid, draw);
  if (level === undefined) return null;
  if (target !== null) {
    const group = preferredGroup(target, level.zones, level.places, avoid);
    if (group !== null) return group.instances;
  }
  return level.all.instances;
}
