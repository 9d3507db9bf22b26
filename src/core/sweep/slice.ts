/**
 * Which services one cron run sweeps. A run may make 1,000 subrequests and
 * sweeping a coordinator takes two (configure, sweep), so a mesh with more
 * services than one run can take is swept a slice at a time, in name order,
 * each run starting where the last one stopped and wrapping round: every
 * service is swept once every ⌈n / size⌉ runs, whatever is created or deleted
 * in between (a deleted name is skipped, a new one is taken when reached).
 */
export interface SweepSlice {
  /** Indices into the sorted names, in sweep order. */
  readonly indices: readonly number[];
  /** The name the next run starts from; null when this run took every name. */
  readonly nextFrom: string | null;
}

/** `names` sorted ascending (as the KV listing returns them); `from` is the last run's nextFrom. */
export function sweepSlice(names: readonly string[], from: string | null, size: number): SweepSlice {
  const n = names.length;
  if (n <= size) return { indices: names.map((_, i) => i), nextFrom: null };
  let start = 0;
  if (from !== null) {
    // The first name at or after `from`; past the last name the run wraps to the first.
    const at = names.findIndex((name) => name >= from);
    start = at === -1 ? 0 : at;
  }
  const indices = Array.from({ length: size }, (_, k) => (start + k) % n);
  return { indices, nextFrom: names[(start + size) % n] ?? null };
}
