// @ts-check
// The health-check scenario's figures from the probe target's arrival log.
// Pure, so the round detection behind the published round durations is
// unit-tested (test/unit/bench/).

/**
 * Groups probe arrivals ([time, path]) into alarm rounds. A round is a burst
 * in which each instance is probed once: a gap of more than `gapMs`, or a
 * second probe of an instance already seen in the burst, starts a new round.
 * The second rule keeps two back-to-back rounds (a round slower than the
 * interval) from being measured as one long one. A round is `complete` when
 * it probed all `n` instances; the first may not be, if it began while
 * instances were still being registered.
 * @param {[number, string][]} probes
 * @param {number} n
 * @param {number} [gapMs]
 */
export function splitRounds(probes, n, gapMs = 1000) {
  const sorted = [...probes].sort((a, b) => a[0] - b[0]);
  /** @type {{ first: number, last: number, count: number, seen: Set<string> }[]} */
  const rounds = [];
  for (const [t, path] of sorted) {
    const cur = rounds.at(-1);
    if (cur === undefined || t - cur.last > gapMs || cur.seen.has(path)) {
      rounds.push({ first: t, last: t, count: 1, seen: new Set([path]) });
    } else {
      cur.last = t;
      cur.count++;
      cur.seen.add(path);
    }
  }
  return rounds.map(({ first, last, count }) => ({ first, last, count, complete: count >= n }));
}

/**
 * CPU ms spent between two times, from cumulative samples [time, cpuMs]
 * taken in time order: the difference between the last samples at or before
 * each time. Before the first sample the first one stands in (the counters
 * are totals since the process started, so 0 would charge its whole life).
 * @param {[number, number][]} samples
 * @param {number} from
 * @param {number} to
 */
export function cpuBetween(samples, from, to) {
  /** @param {number} t */
  const at = (t) => {
    let value = samples[0]?.[1] ?? 0;
    for (const [time, cpu] of samples) {
      if (time > t) break;
      value = cpu;
    }
    return value;
  };
  return at(to) - at(from);
}
