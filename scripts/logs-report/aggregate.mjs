// @ts-check
// Folds events into per-service and per-instance figures. Percentiles are
// exact (nearest rank over every latency: latencies.mjs counts each value).
// A worker thread's aggregate of one file travels as `partial()` and is
// folded in with `merge()`: every figure is a sum, a min/max or a count per
// value (an instance's series is sums at the wider of two bucket widths:
// series.mjs), so merging the files' partials in file order gives the report
// one thread would have built, down to the order of equal counts.
//
// Every request figure is weighted: a request line counts `weight` requests
// (1/p for a success written under REQUEST_LOG_SAMPLE = p, 1 otherwise and for
// lines from before the field). Whole weights keep every figure exact; with a
// fractional weight the sums are floating point (threads may add them in
// another order, so the last digits can differ from one thread's), and the
// report rounds the counts it shows to whole requests: they are estimates.
import { EventClock } from "./event-clock.mjs";
import { Latencies } from "./latencies.mjs";
import { addPoint, bucketFor, CoarseSeries, fold } from "./series.mjs";

/** @typedef {import("./read/extract.mjs").EventLine} EventLine */
/** @typedef {import("./read/extract.mjs").RequestLine} RequestLine */

/**
 * A copy of `s` that does not keep alive the text it was cut from. V8 keeps a
 * substring of 13 characters or more as a view into its parent, and the names
 * read by read/request-shape.mjs are views into 64 KiB of decoded input: a key
 * kept for the whole run is copied once, when it is first seen, so a day of
 * logs with many instances holds their names, not a slice of input per name.
 * @param {string} s
 */
const own = (s) => /** @type {string} */ (JSON.parse(JSON.stringify(s)));

/** @param {Map<string, number>} m @param {string} k @param {number} [by] */
function bump(m, k, by = 1) {
  const n = m.get(k);
  // set() on a key already there keeps the key it holds, so only the first sight copies.
  if (n === undefined) m.set(own(k), by);
  else m.set(k, n + by);
}

/** A weighted count as shown: whole requests (the identity for whole weights). @param {number} n */
const whole = (n) => Math.round(n);

/** @param {Map<string, number>} m @param {number} n */
function top(m, n) {
  return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n).map(([kind, count]) => ({ kind, count: whole(count) }));
}

/** @param {Map<string, number>} into @param {Map<string, number>} from */
function addCounts(into, from) {
  for (const [k, n] of from) into.set(k, (into.get(k) ?? 0) + n);
}

/** @param {number} part @param {number} whole */
const rate = (part, whole) => (whole === 0 ? 0 : part / whole);

/** A 5xx answer is an error; 4xx answers are the client's (no route, bad body, refused token, rate limited). */
const isError = (/** @type {RequestLine} */ e) => e.status >= 500;

/**
 * Answered by another instance after a failed try: more than one try and the last one succeeded, which the
 * mesh writes as outcome `failed_over` (src/edge/respond/respond.ts). The rule of the stats' failoverRate and
 * the Analytics Engine point (failedOver in src/core/metrics/record.ts); two tries that both failed are not one.
 */
const failedOver = (/** @type {RequestLine} */ e) => e.outcome === "failed_over";

class InstanceStats {
  constructor() {
    this.answered = 0;
    this.errors = 0;
    this.tries = 0;
    this.failedTries = 0;
    /** Answered after a failed try: the service's failover rule, on the requests this instance answered. */
    this.failovers = 0;
    this.latency = new Latencies();
    /** Requests and errors this instance answered, in at most about 120 buckets however many instances there are. */
    this.series = new CoarseSeries();
    /** @type {Map<string, number>} */
    this.failures = new Map();
    /** @type {Map<string, number>} */
    this.coordinator = new Map();
  }
}

class ServiceStats {
  constructor() {
    this.requests = 0;
    this.errors = 0;
    this.failovers = 0;
    this.latency = new Latencies();
    this.upstream = new Latencies();
    /** @type {Map<string, number>} */
    this.outcomes = new Map();
    /** @type {Map<string, number>} */
    this.failures = new Map();
    /**
     * Requests and errors per second, keyed by epoch second: one point per second with traffic (a day is
     * 86,400 per service), bucketed by the report. Instances keep theirs coarser (series.mjs).
     * @type {Map<number, import("./series.mjs").Point>}
     */
    this.perSecond = new Map();
    /** @type {Map<string, InstanceStats>} */
    this.instances = new Map();
    /** @type {Map<string, number>} */
    this.coordinator = new Map();
  }
  /** @param {string} id */
  instance(id) {
    let s = this.instances.get(id);
    if (s === undefined) this.instances.set(own(id), (s = new InstanceStats()));
    return s;
  }
}

export class Aggregator {
  constructor() {
    /** @type {Map<string, ServiceStats>} */
    this.services = new Map();
    this.events = 0;
    /** Request lines that stood for more than one request (written under REQUEST_LOG_SAMPLE). */
    this.sampledLines = 0;
    this.first = Infinity;
    this.last = -Infinity;
    /** Reads event times (memoised per minute). */
    this.clock = new EventClock();
  }

  /** @param {string} name */
  service(name) {
    let s = this.services.get(name);
    if (s === undefined) this.services.set(own(name), (s = new ServiceStats()));
    return s;
  }

  /**
   * @param {EventLine} e
   * @returns {boolean} false, adding nothing, when `e.ts` is no time: the event is malformed (the schema refuses it),
   *   and counting it would put a request in the totals that the series and the report's range leave out
   */
  add(e) {
    const t = this.clock.epochMs(e.ts);
    if (Number.isNaN(t)) return false;
    this.events++;
    if (t < this.first) this.first = t;
    if (t > this.last) this.last = t;
    if (e.event !== "request") {
      const s = this.service(e.service);
      bump(s.coordinator, e.event);
      bump(s.instance(e.instance).coordinator, e.event);
      return true;
    }
    // Requests that matched no service (404 no_route) are reported under "(none)".
    const s = this.service(e.service ?? "(none)");
    const w = e.weight;
    if (w !== 1) this.sampledLines++;
    s.requests += w;
    const error = isError(e);
    if (error) s.errors += w;
    if (failedOver(e)) s.failovers += w;
    s.latency.push(e.latencyMs, w);
    if (e.upstreamLatencyMs !== null) s.upstream.push(e.upstreamLatencyMs, w);
    bump(s.outcomes, e.outcome, w);
    addPoint(s.perSecond, Math.floor(t / 1000), w, error ? w : 0);
    // A failed try is always followed by the next one, so failures[i] is tried[i]'s.
    for (let i = 0; i < e.tried.length; i++) {
      const id = e.tried[i] ?? "";
      const inst = s.instance(id);
      inst.tries += w;
      const kind = e.failures[i];
      if (kind !== undefined) {
        inst.failedTries += w;
        bump(inst.failures, kind, w);
        bump(s.failures, kind, w);
      }
    }
    if (e.instance !== null) {
      const inst = s.instance(e.instance);
      inst.answered += w;
      if (error) inst.errors += w;
      // The rule s.failovers counts by, above, on the requests this instance answered.
      if (failedOver(e)) inst.failovers += w;
      inst.latency.push(e.latencyMs, w);
      inst.series.add(t, w, error ? w : 0);
    }
    return true;
  }

  /**
   * This aggregate as plain data for `postMessage` (structured clone keeps Maps
   * and typed arrays but not classes), and the latency buffers to transfer.
   */
  partial() {
    /** @type {ArrayBuffer[]} */
    const transfer = [];
    /** @param {Latencies} l */
    const take = (l) => {
      const c = l.counts();
      transfer.push(c.dense.buffer);
      return c;
    };
    const services = [...this.services].map(([name, s]) => ({
      name,
      requests: s.requests,
      errors: s.errors,
      failovers: s.failovers,
      latency: take(s.latency),
      upstream: take(s.upstream),
      outcomes: s.outcomes,
      failures: s.failures,
      perSecond: s.perSecond,
      coordinator: s.coordinator,
      instances: [...s.instances].map(([id, i]) => ({
        id,
        answered: i.answered,
        errors: i.errors,
        tries: i.tries,
        failedTries: i.failedTries,
        failovers: i.failovers,
        latency: take(i.latency),
        series: i.series.counts(),
        failures: i.failures,
        coordinator: i.coordinator,
      })),
    }));
    return { data: { events: this.events, sampledLines: this.sampledLines, first: this.first, last: this.last, services }, transfer };
  }

  /** @param {Partial["data"]} p another aggregate's `partial().data` */
  merge(p) {
    this.events += p.events;
    this.sampledLines += p.sampledLines;
    if (p.first < this.first) this.first = p.first;
    if (p.last > this.last) this.last = p.last;
    for (const o of p.services) {
      const s = this.service(o.name);
      s.requests += o.requests;
      s.errors += o.errors;
      s.failovers += o.failovers;
      s.latency.merge(o.latency);
      s.upstream.merge(o.upstream);
      addCounts(s.outcomes, o.outcomes);
      addCounts(s.failures, o.failures);
      addCounts(s.coordinator, o.coordinator);
      for (const [sec, [n, err]] of o.perSecond) addPoint(s.perSecond, sec, n, err);
      for (const oi of o.instances) {
        const i = s.instance(oi.id);
        i.answered += oi.answered;
        i.errors += oi.errors;
        i.tries += oi.tries;
        i.failedTries += oi.failedTries;
        i.failovers += oi.failovers;
        i.latency.merge(oi.latency);
        i.series.merge(oi.series);
        addCounts(i.failures, oi.failures);
        addCounts(i.coordinator, oi.coordinator);
      }
    }
  }

  /** The series' bucket width for the span seen. */
  bucketSeconds() {
    return bucketFor(this.last > this.first ? this.last - this.first : 0);
  }

  /**
   * The report as plain data (what `--json` prints, and what the text and HTML views render).
   * @param {{ files: number, bytes: number, lines: number, malformed: number, unknownVersion: number, other: number,
   *           unreadable: Unreadable[] }} input
   */
  report(input) {
    const bucket = this.bucketSeconds();
    const services = [...this.services].sort((a, b) => b[1].requests - a[1].requests || (a[0] < b[0] ? -1 : 1)).map(([name, s]) => {
      const buckets = [...fold(s.perSecond, bucket)].sort((a, b) => a[0] - b[0]);
      const starts = buckets.map(([at]) => at);
      /** @param {import("./series.mjs").Point[]} points one per start */
      const series = (points) => points.map(([n, err], k) => ({ t: new Date((starts[k] ?? 0) * 1000).toISOString(), requests: whole(n), errors: whole(err) }));
      const instances = [...s.instances].sort((a, b) => b[1].tries - a[1].tries || (a[0] < b[0] ? -1 : 1)).map(([id, i]) => ({
        instance: id,
        answered: whole(i.answered),
        tries: whole(i.tries),
        failedTries: whole(i.failedTries),
        errorRate: rate(i.errors, i.answered),
        tryFailureRate: rate(i.failedTries, i.tries),
        failoverRate: rate(i.failovers, i.answered),
        latencyMs: i.latency.percentiles(),
        topFailures: top(i.failures, 5),
        coordinatorEvents: Object.fromEntries(i.coordinator),
        // The service's buckets, 0 where this instance answered nothing: its answers are among the service's requests.
        series: series(i.series.at(bucket, starts)),
      }));
      return {
        service: name,
        requests: whole(s.requests),
        errors: whole(s.errors),
        errorRate: rate(s.errors, s.requests),
        failovers: whole(s.failovers),
        failoverRate: rate(s.failovers, s.requests),
        latencyMs: s.latency.percentiles(),
        upstreamLatencyMs: s.upstream.percentiles(),
        outcomes: Object.fromEntries([...s.outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, whole(n)])),
        topFailures: top(s.failures, 5),
        coordinatorEvents: Object.fromEntries(s.coordinator),
        series: series(buckets.map(([, p]) => p)),
        instances,
      };
    });
    return {
      input: { ...input, events: this.events, sampledLines: this.sampledLines },
      from: this.events === 0 ? null : new Date(this.first).toISOString(),
      to: this.events === 0 ? null : new Date(this.last).toISOString(),
      bucketSeconds: bucket,
      services,
    };
  }
}

/** @typedef {ReturnType<Aggregator["report"]>} Report */
/**
 * A file not read whole: the first error, and for gzip the damaged members (a stretch of bytes
 * between members that is none counts as one) and their compressed bytes; the rest was read.
 * @typedef {{ file: string } & import("./read/gzip-members.mjs").Damage} Unreadable
 */
/** @typedef {ReturnType<Aggregator["partial"]>} Partial */
