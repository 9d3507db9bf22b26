/**
 * Priority levels, as Envoy computes them (its "priority load"): a level's
 * health is the healthy share of its members × the overprovisioning factor
 * 1.4, in whole percent, capped at 100. Level 0 takes its health in percent
 * of the traffic, the next level takes what is left up to its own health, and
 * so on. When the levels' healths add up to less than 100, each is scaled up
 * by 100 / that sum first, so the traffic still adds up to 100 %; whole
 * percents lost to rounding go to the first level that has any health.
 *
 * So a level keeps all traffic while at least ~71.4 % (100 / 1.4) of its
 * members are healthy, and spills to the next in proportion below that.
 */

/** Envoy's default, in percent (integer arithmetic, as Envoy's own). */
export const OVERPROVISIONING_PERCENT = 140;

export interface LevelCount {
  /** Members routable now (and not avoided by this isolate). */
  healthy: number;
  /** Active members of the level, routable or not. */
  total: number;
}

/** A level's health score: min(100, ⌊140 × healthy / total⌋). */
export function levelHealth(level: LevelCount): number {
  if (level.total <= 0 || level.healthy <= 0) return 0;
  return Math.min(100, Math.floor((OVERPROVISIONING_PERCENT * Math.min(level.healthy, level.total)) / level.total));
}

/**
 * Percent of the traffic each level gets, in level order (lowest priority
 * number first). All zeros when no level has a healthy member.
 */
export function priorityLoads(levels: readonly LevelCount[]): number[] {
  const health = levels.map(levelHealth);
  const sum = health.reduce((a, b) => a + b, 0);
  if (sum === 0) return health;
  const normalized = Math.min(100, sum);
  let left = 100;
  const loads = health.map((h) => {
    const load = Math.min(left, Math.floor((h * 100) / normalized));
    left -= load;
    return load;
  });
  if (left > 0) {
    const first = health.findIndex((h) => h > 0);
    loads[first] = (loads[first] ?? 0) + left;
  }
  return loads;
}

/**
 * The level a request goes to, for a draw in [0, 1): level i for draws in its
 * share of [0, 100). -1 when no level has load. Allocation-free, so the edge
 * can call it with loads it computed into a reused array.
 */
export function chooseLevel(loads: readonly number[], draw: number): number {
  let point = draw * 100;
  let last = -1;
  for (let i = 0; i < loads.length; i++) {
    const load = loads[i] ?? 0;
    if (load <= 0) continue;
    last = i;
    if (point < load) return i;
    point -= load;
  }
  // A draw of (almost) 1 after rounding: the last level with load.
  return last;
}
