/**
 * The retry budget (Linkerd's and Envoy's idea): retries, meaning tries after
 * a request's first, are allowed while they stay at or below `percent` of the
 * requests seen over the last WINDOW_SECONDS, plus a floor of `minPerSecond`
 * for each second of the window, so a quiet service can still retry. When
 * every origin fails, a budget of 20 % turns `attempts`× amplification into
 * at most 1.2× plus the floor.
 *
 * Pure and O(1): the window is BUCKETS one-second buckets in two fixed
 * arrays, kept in isolate memory per service; `now` comes in as a parameter.
 * A bucket whose second has passed out of the window is zeroed when its slot
 * comes round again, so nothing is allocated after creation.
 */
export const WINDOW_SECONDS = 10;
const BUCKETS = WINDOW_SECONDS;

export interface RetryBudgetConfig {
  /** Share of requests in the window that may be retried, 0-100. */
  percent: number;
  /** Retries per second allowed whatever the traffic. */
  minPerSecond: number;
}

export interface RetryBudgetWindow {
  /** The second (now / 1000, floored) each slot counts for. */
  readonly second: Float64Array;
  readonly requests: Float64Array;
  readonly retries: Float64Array;
}

export function newRetryBudgetWindow(): RetryBudgetWindow {
  const second = new Float64Array(BUCKETS).fill(Number.NEGATIVE_INFINITY);
  return { second, requests: new Float64Array(BUCKETS), retries: new Float64Array(BUCKETS) };
}

/**
 * The second `now` counts in: its own, or the newest second the window holds
 * when `now` is older than that. A late time is ordinary at the edge (a
 * request's start, noted after its body took seconds to arrive); taken as
 * it is, it would claim the slot of a second still in the window and empty
 * it, erasing the retries counted there. Ten slots, so still O(1).
 */
function countingSecond(w: RetryBudgetWindow, now: number): number {
  let sec = Math.floor(now / 1000);
  for (let i = 0; i < BUCKETS; i++) sec = Math.max(sec, w.second[i] ?? sec);
  return sec;
}

/** The slot for second `sec`, emptied first if it still holds an older second. */
function slot(w: RetryBudgetWindow, sec: number): number {
  const i = ((sec % BUCKETS) + BUCKETS) % BUCKETS;
  if (w.second[i] !== sec) {
    w.second[i] = sec;
    w.requests[i] = 0;
    w.retries[i] = 0;
  }
  return i;
}

/** Counts a new request (its first try). */
export function noteRequest(w: RetryBudgetWindow, now: number): void {
  const i = slot(w, countingSecond(w, now));
  w.requests[i] = (w.requests[i] ?? 0) + 1;
}

/** Requests and retries over the window ending at `now` (this second and the nine before it). */
export function windowTotals(w: RetryBudgetWindow, now: number): { requests: number; retries: number } {
  const sec = Math.floor(now / 1000);
  let requests = 0;
  let retries = 0;
  for (let i = 0; i < BUCKETS; i++) {
    const s = w.second[i] ?? Number.NEGATIVE_INFINITY;
    if (s > sec - BUCKETS && s <= sec) {
      requests += w.requests[i] ?? 0;
      retries += w.retries[i] ?? 0;
    }
  }
  return { requests, retries };
}

/**
 * The most retries a window with `requests` requests may hold, times 100:
 * kept in hundredths so an integer percent never meets a rounding error
 * (0.29 × 500 is 144.99999999999997 in floating point, 29 × 500 is 14500).
 */
export function retryAllowanceCents(config: RetryBudgetConfig, requests: number): number {
  return config.percent * requests + 100 * config.minPerSecond * WINDOW_SECONDS;
}

/**
 * Spends one retry if the budget has room for it; false means the request
 * must answer with what it got. A retry is counted only when allowed, so a
 * refused one does not eat into the next request's budget.
 *
 * "Room" must hold for every 10 s window the retry falls in, not only the
 * one ending now: a window starting this second has not seen the requests
 * of the seconds before it. So the retry is checked against each stretch
 * from this second back to each of the nine before it (the part of each such
 * window that has happened); later requests can only add to a window's
 * allowance. Ten buckets, so still O(1).
 */
export function spendRetry(w: RetryBudgetWindow, config: RetryBudgetConfig, now: number): boolean {
  const sec = countingSecond(w, now);
  const i = slot(w, sec);
  let requests = 0;
  let retries = 0;
  for (let back = 0; back < BUCKETS; back++) {
    const j = (((sec - back) % BUCKETS) + BUCKETS) % BUCKETS;
    if (w.second[j] === sec - back) {
      requests += w.requests[j] ?? 0;
      retries += w.retries[j] ?? 0;
    }
    if ((retries + 1) * 100 > retryAllowanceCents(config, requests)) return false;
  }
  w.retries[i] = (w.retries[i] ?? 0) + 1;
  return true;
}
