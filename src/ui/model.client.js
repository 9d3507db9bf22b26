// @ts-check
// The dashboard's bookkeeping, without the DOM: what the page remembers between
// polls (state transitions, live rates from counter deltas) and the numbers the
// charts draw. Time is a parameter, so test/unit/ui/ can run it in Node.

/** @typedef {{ p50: number | null, p90?: number | null, p99: number | null }} Latency */
/**
 * An instance as GET /_mesh/v1/services/{name} shows it (docs/api.md).
 * @typedef {{ id: string, url: string, state: string, lastCheckAt: string | null, lastCheckResult: string | null,
 *   leaseExpiresAt: string, ejectedUntil: string | null, requests: number, failures: number,
 *   meanLatencyMs: number | null }} InstanceView
 */
/** @typedef {{ instances: InstanceView[] }} ServiceDetail */
/** @typedef {{ id: string, url: string, requests: number, throughputPerSecond: number, errorRate: number, failoverRate: number, latencyMs: Latency, series?: SeriesBucket[] }} InstanceStats */
/** @typedef {{ at: string, requests: number, errors: number, p50: number | null, p99: number | null }} SeriesBucket */
/**
 * GET /_mesh/v1/services/{name}/stats?window=… (docs/analytics.md).
 * @typedef {{ service: string, window: string, from: string, to: string, requests: number,
 *   throughputPerSecond: number, errorRate: number, failoverRate: number, latencyMs: Latency,
 *   percentileError?: string, instances: InstanceStats[], series: SeriesBucket[] }} ServiceStats
 */
/** @typedef {{ at: number, from: string, to: string }} Transition */
/** @typedef {{ at: number, rate: number, errorRate: number | null }} LiveSample */
/**
 * What the page keeps per instance between polls.
 * @typedef {{ state: string, firstSeenAt: number, transitions: Transition[], samples: LiveSample[],
 *   last: { at: number, requests: number, failures: number } }} InstanceTrack
 */
/** @typedef {{ x: number, y: number | null }} Point */

/** Transitions kept per instance: the table shows the latest few, not a log. */
export const MAX_TRANSITIONS = 5;
/** Live samples kept per instance: 60 polls, five minutes at the 5 s poll interval. */
export const MAX_SAMPLES = 60;

/**
 * Updates `tracks` (instance id → track) with one poll of a service's
 * instances. A state that differs from the one seen at the previous poll is
 * a transition observed by this page (the API keeps no history); the live
 * rate is the growth of the coordinator's tries counters since that poll.
 * Returns the transitions this poll saw, for the page to announce.
 * @param {Map<string, InstanceTrack>} tracks
 * @param {InstanceView[]} instances
 * @param {number} now
 * @returns {{ id: string, transition: Transition }[]}
 */
export function observeInstances(tracks, instances, now) {
  /** @type {{ id: string, transition: Transition }[]} */
  const seen = [];
  const present = new Set();
  for (const inst of instances) {
    present.add(inst.id);
    const track = tracks.get(inst.id);
    if (track === undefined) {
      tracks.set(inst.id, {
        state: inst.state,
        firstSeenAt: now,
        transitions: [],
        samples: [],
        last: { at: now, requests: inst.requests, failures: inst.failures },
      });
      continue;
    }
    if (track.state !== inst.state) {
      const transition = { at: now, from: track.state, to: inst.state };
      track.transitions.unshift(transition);
      track.transitions.length = Math.min(track.transitions.length, MAX_TRANSITIONS);
      track.state = inst.state;
      seen.push({ id: inst.id, transition });
    }
    const dt = (now - track.last.at) / 1000;
    const tries = inst.requests - track.last.requests;
    const failed = inst.failures - track.last.failures;
    // Counters that went down mean the coordinator restarted; that interval has no rate.
    if (dt > 0 && tries >= 0 && failed >= 0) {
      track.samples.push({ at: now, rate: tries / dt, errorRate: tries > 0 ? failed / tries : null });
      if (track.samples.length > MAX_SAMPLES) track.samples.shift();
    }
    track.last = { at: now, requests: inst.requests, failures: inst.failures };
  }
  for (const id of [...tracks.keys()]) if (!present.has(id)) tracks.delete(id);
  return seen;
}

/**
 * The stats series as chart points (x in ms). Buckets are whole minutes; the
 * last one is still filling, so its rate divides by the seconds it has run,
 * not by 60 (otherwise every chart would dip at its right edge).
 * @param {{ series: SeriesBucket[], to: string }} stats a service's stats, or an instance's series with the window's end
 * @returns {{ rate: Point[], errors: Point[], p50: Point[], p99: Point[] }}
 */
export function seriesPoints(stats) {
  const to = Date.parse(stats.to);
  /** @type {{ rate: Point[], errors: Point[], p50: Point[], p99: Point[] }} */
  const out = { rate: [], errors: [], p50: [], p99: [] };
  for (const b of stats.series) {
    const start = Date.parse(b.at);
    if (!Number.isFinite(start)) continue;
    // Drawn where the minute ends (or now, for the one still filling), so the newest point sits at the right edge.
    const x = Math.min(start + 60_000, to);
    const seconds = Math.min(60, Math.max(1, (to - start) / 1000));
    out.rate.push({ x, y: b.requests / seconds });
    out.errors.push({ x, y: b.requests > 0 ? (100 * b.errors) / b.requests : null });
    out.p50.push({ x, y: b.p50 });
    out.p99.push({ x, y: b.p99 });
  }
  return out;
}

/**
 * @param {LiveSample[]} samples
 * @returns {{ rate: Point[], errors: Point[] }}
 */
export function livePoints(samples) {
  return {
    rate: samples.map((s) => ({ x: s.at, y: s.rate })),
    errors: samples.map((s) => ({ x: s.at, y: s.errorRate === null ? null : 100 * s.errorRate })),
  };
}

/**
 * Per second. Below 1, two significant digits: a quiet service's rate (one
 * request in a 5-minute window is about 0.003/s) must not read as 0.0.
 * @param {number | null | undefined} v
 */
export const fmtRate = (v) =>
  v === null || v === undefined || !Number.isFinite(v) ? "–" : v >= 100 ? v.toFixed(0) : v >= 1 || v <= 0 ? v.toFixed(1) : v.toPrecision(2);
/**
 * A fraction (0–1) as a percentage. A share too small for two decimals is
 * "< 0.01 %", not "0.00 %": a rare error is still an error.
 * @param {number | null | undefined} v
 */
export const fmtPct = (v) =>
  v === null || v === undefined || !Number.isFinite(v) ? "–" : v > 0 && v < 0.00005 ? "< 0.01 %" : `${(100 * v).toFixed(v < 0.1 ? 2 : 1)} %`;
/** @param {number | null | undefined} v */
export const fmtMs = (v) => (v === null || v === undefined || !Number.isFinite(v) ? "–" : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ms`);

/**
 * "12 s ago", "in 25 s", "3 min ago": times on the page are relative to the
 * last poll, since that is when they were true. Under a second is "now":
 * the browser's clock and the mesh's differ by a little, and "in 0 s" for a
 * check that just happened would read as nonsense.
 * @param {number} at
 * @param {number} now
 */
export function relTime(at, now) {
  const d = Math.round((at - now) / 1000);
  const abs = Math.abs(d);
  if (abs < 1) return "now";
  const text = abs < 90 ? `${abs} s` : abs < 5400 ? `${Math.round(abs / 60)} min` : `${Math.round(abs / 3600)} h`;
  return d > 0 ? `in ${text}` : `${text} ago`;
}

/**
 * For events that have happened (a check, a transition): a mesh clock a
 * little ahead of the browser's must not put them in the future.
 * @param {number} at
 * @param {number} now
 */
export const agoTime = (at, now) => relTime(Math.min(at, now), now);

/**
 * The longest a 429's Retry-After holds the next poll back: 5 minutes, the cap
 * the mesh puts on every Retry-After it reads (src/core/flow/retry-after.ts).
 * It also keeps the timer far below 2^31-1 ms, past which setTimeout wraps to
 * a negative delay and fires at once.
 */
export const MAX_RETRY_WAIT_MS = 300_000;

/**
 * When to poll again after a 429, from its Retry-After: its delay-seconds,
 * at least `pollMs` and at most MAX_RETRY_WAIT_MS. The mesh's own 429s say
 * whole seconds (docs/api.md, *Limits*); anything else, which only a proxy in
 * front of it can have written (a word, an HTTP-date), is read as no
 * Retry-After at all, so the page keeps its usual pace. Number() read those as
 * NaN, and setTimeout fires a NaN delay at once: the page asked again as fast
 * as the 429s came back.
 * @param {string | null} header
 * @param {number} pollMs
 */
export function retryWaitMs(header, pollMs) {
  const text = header?.trim() ?? "";
  const seconds = /^\d+$/.test(text) ? Number(text) : 0;
  return Math.min(MAX_RETRY_WAIT_MS, Math.max(pollMs, seconds * 1000));
}

/**
 * One line for screen readers and captions: what a chart shows, latest and peak.
 * @param {string} what
 * @param {Point[]} points
 * @param {(v: number) => string} fmt
 */
export function summarize(what, points, fmt) {
  const ys = points.map((p) => p.y).filter((y) => y !== null);
  if (ys.length === 0) return `${what}: no data yet`;
  const latest = ys[ys.length - 1] ?? 0;
  return `${what}: latest ${fmt(latest)}, peak ${fmt(Math.max(...ys))}`;
}

/**
 * The path's `d`: a null breaks the line; a lone point becomes a dot (a
 * zero-length segment with round caps).
 * @param {Point[]} points
 * @param {(x: number) => number} sx
 * @param {(y: number) => number} sy
 */
export function pathData(points, sx, sy) {
  let d = "";
  let open = false;
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (p === undefined || p.y === null) {
      open = false;
      continue;
    }
    const x = sx(p.x).toFixed(1);
    const y = sy(p.y).toFixed(1);
    const next = points[i + 1];
    const alone = !open && (next === undefined || next.y === null);
    d += open ? `L${x} ${y}` : alone ? `M${x} ${y}h0.01` : `M${x} ${y}`;
    open = true;
  }
  return d;
}
