// @ts-check
// Requests and errors over time, for the report's charts.
//
// The report's bucket width is known only at the end (it is picked from the
// span of every event seen), so a service keeps one point per second and
// buckets them then. An instance cannot: a day of logs is 86,400 seconds,
// times every instance a service ever had. An instance's series is instead
// kept in buckets as wide as its own span asks for, and widened as the span
// grows, so it never holds more than MAX_POINTS + 2 points.
//
// That gives the report's buckets exactly, because
// - the widths divide one another (1 | 5 | 10 | 30 | ... | 86400) and buckets
//   start at multiples of their width, so a point of one width folds whole into
//   the bucket of any wider one;
// - an instance's span is inside the report's, and the width is the smallest
//   that keeps a span to MAX_POINTS, so the instance's width is never wider
//   than the report's.
// Merging two partial series takes the wider width and the union of the spans,
// so threads give the same series as one (sums in another order aside: see the
// weights in aggregate.mjs).

/** Bucket widths the series picks from, in seconds: each divides the next. */
const BUCKETS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 21600, 86400];
/** About how many points a chart gets: the report picks the smallest width that keeps it to this. */
export const MAX_POINTS = 120;

/**
 * The bucket width, in seconds, for events spread over `spanMs`.
 * @param {number} spanMs  last event time minus first, in milliseconds (0 or less: one instant or none)
 */
export function bucketFor(spanMs) {
  const span = spanMs > 0 ? spanMs / 1000 : 0;
  return BUCKETS.find((b) => span / b <= MAX_POINTS) ?? (BUCKETS[BUCKETS.length - 1] ?? 86400);
}

/** A point: [requests, errors], summed weights. @typedef {[number, number]} Point */

/**
 * Adds `n` requests and `err` errors to the bucket that starts at `at`.
 * @param {Map<number, Point>} points @param {number} at @param {number} n @param {number} err
 */
export function addPoint(points, at, n, err) {
  const p = points.get(at);
  if (p === undefined) points.set(at, [n, err]);
  else {
    p[0] += n;
    p[1] += err;
  }
}

/**
 * Points folded into buckets of `width` seconds (a multiple of their own width).
 * @param {Iterable<[number, Point]>} points keyed by bucket start, epoch seconds
 * @param {number} width
 * @returns {Map<number, Point>}
 */
export function fold(points, width) {
  /** @type {Map<number, Point>} */
  const out = new Map();
  for (const [at, [n, err]] of points) addPoint(out, Math.floor(at / width) * width, n, err);
  return out;
}

/** A CoarseSeries as plain data, for postMessage. @typedef {{ width: number, first: number, last: number, points: Map<number, Point> }} SeriesCounts */

/** A series that keeps at most MAX_POINTS + 2 points, whatever its span (see the top). */
export class CoarseSeries {
  constructor() {
    /** Bucket width in seconds. */
    this.width = 1;
    /** First and last event time, epoch ms. */
    this.first = Infinity;
    this.last = -Infinity;
    /** Keyed by bucket start, epoch seconds. @type {Map<number, Point>} */
    this.points = new Map();
  }

  /** @param {number} width wider than this.width, or this.width */
  #widen(width) {
    if (width <= this.width) return;
    this.width = width;
    this.points = fold(this.points, width);
  }

  /**
   * @param {number} ms  the event's time, epoch ms
   * @param {number} n  requests it stands for (its weight)
   * @param {number} err  errors among them (the weight, or 0)
   */
  add(ms, n, err) {
    if (ms < this.first) this.first = ms;
    if (ms > this.last) this.last = ms;
    // bucketFor's own test, so the width is the one it gives; asked only when the span outgrows this width, since in
    // time-ordered logs nearly every event is a new latest one (calling bucketFor on each cost ~80 ns an event).
    if ((this.last - this.first) / 1000 / this.width > MAX_POINTS) this.#widen(bucketFor(this.last - this.first));
    const width = this.width;
    addPoint(this.points, Math.floor(Math.floor(ms / 1000) / width) * width, n, err);
  }

  /** @returns {SeriesCounts} */
  counts() {
    return { width: this.width, first: this.first, last: this.last, points: this.points };
  }

  /** @param {SeriesCounts} other another series' counts */
  merge(other) {
    this.first = Math.min(this.first, other.first);
    this.last = Math.max(this.last, other.last);
    this.#widen(Math.max(other.width, bucketFor(this.last - this.first)));
    for (const [at, [n, err]] of other.points) addPoint(this.points, Math.floor(at / this.width) * this.width, n, err);
  }

  /**
   * This series in the report's buckets: one point per start in `starts`, 0 where it had nothing.
   * @param {number} width  the report's bucket width, never narrower than this series' (see the top)
   * @param {number[]} starts  the report's bucket starts, epoch seconds
   * @returns {Point[]}
   */
  at(width, starts) {
    const points = fold(this.points, width);
    return starts.map((at) => points.get(at) ?? [0, 0]);
  }
}
