import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  WINDOW_SECONDS,
  newRetryBudgetWindow,
  noteRequest,
  retryAllowanceCents,
  spendRetry,
  windowTotals,
} from "../../../src/core/flow/retry-budget.js";

const T0 = 1_700_000_000_000;
const DEFAULT = { percent: 20, minPerSecond: 10 };

/** Whether, in every window of WINDOW_SECONDS whole seconds ending from `first` to `last`, the logged retries stay within what its requests allow. */
function withinBudget(config: Parameters<typeof retryAllowanceCents>[0], log: readonly { sec: number; retry: boolean }[], first: number, last: number): boolean {
  for (let end = first; end <= last; end++) {
    let requests = 0;
    let retries = 0;
    for (const e of log) {
      if (e.sec <= end - WINDOW_SECONDS || e.sec > end) continue;
      if (e.retry) retries++;
      else requests++;
    }
    if (retries * 100 > retryAllowanceCents(config, requests)) return false;
  }
  return true;
}

describe("retry budget", () => {
  it("allows the floor of minPerSecond × window with no requests at all, then refuses", () => {
    const w = newRetryBudgetWindow();
    let allowed = 0;
    for (let i = 0; i < 500; i++) if (spendRetry(w, DEFAULT, T0)) allowed++;
    expect(allowed).toBe(10 * WINDOW_SECONDS);
  });

  it("allows percent of requests on top of the floor", () => {
    const w = newRetryBudgetWindow();
    for (let i = 0; i < 1000; i++) noteRequest(w, T0);
    let allowed = 0;
    for (let i = 0; i < 1000; i++) if (spendRetry(w, DEFAULT, T0 + 10)) allowed++;
    expect(allowed).toBe(200 + 100);
  });

  it("refused retries are not counted, so the next request still finds the room that is left", () => {
    const w = newRetryBudgetWindow();
    const none = { percent: 50, minPerSecond: 0 };
    expect(spendRetry(w, none, T0)).toBe(false);
    expect(spendRetry(w, none, T0)).toBe(false);
    noteRequest(w, T0);
    noteRequest(w, T0);
    expect(spendRetry(w, none, T0)).toBe(true);
    expect(spendRetry(w, none, T0)).toBe(false);
    expect(windowTotals(w, T0)).toEqual({ requests: 2, retries: 1 });
  });

  it("forgets a second once it slides out of the 10 s window", () => {
    const w = newRetryBudgetWindow();
    const none = { percent: 0, minPerSecond: 1 };
    for (let i = 0; i < 10; i++) expect(spendRetry(w, none, T0)).toBe(true);
    expect(spendRetry(w, none, T0 + 9_999)).toBe(false);
    // The second that held all ten retries is now eleven seconds back... and the slot is reused.
    const later = T0 - (T0 % 1000) + 10_000;
    expect(windowTotals(w, later).retries).toBe(0);
    expect(spendRetry(w, none, later)).toBe(true);
  });

  it("a clock that goes back never counts a slot twice and never throws", () => {
    const w = newRetryBudgetWindow();
    noteRequest(w, T0);
    noteRequest(w, T0 - 60_000);
    // The late one is counted with the newest second held, not in a slot of its own.
    expect(windowTotals(w, T0)).toEqual({ requests: 2, retries: 0 });
    expect(windowTotals(w, T0 - 60_000).requests).toBe(0);
  });

  it("a late time (a request that started long ago) does not empty the slot of a newer second", () => {
    // The edge noted a request at its start; one whose body took 10 s to arrive lands in the slot of now.
    const w = newRetryBudgetWindow();
    const floorOnly = { percent: 0, minPerSecond: 1 };
    for (let i = 0; i < 10; i++) expect(spendRetry(w, floorOnly, T0)).toBe(true);
    noteRequest(w, T0 - 10_000);
    expect(spendRetry(w, floorOnly, T0)).toBe(false);
    expect(windowTotals(w, T0).retries).toBe(10);
  });

  it("a burst of requests does not pay for retries in a later window that does not hold it", () => {
    // 1000 requests in second 0 would allow 200 retries in second 9 if only the window ending then counted,
    // but the window of seconds 9..18 holds those retries and none of the requests.
    const w = newRetryBudgetWindow();
    const config = { percent: 20, minPerSecond: 0 };
    for (let i = 0; i < 1000; i++) noteRequest(w, T0);
    let allowed = 0;
    for (let i = 0; i < 300; i++) if (spendRetry(w, config, T0 + 9_000)) allowed++;
    expect(allowed).toBe(0);
    for (let i = 0; i < 50; i++) noteRequest(w, T0 + 9_000);
    for (let i = 0; i < 300; i++) if (spendRetry(w, config, T0 + 9_000)) allowed++;
    expect(allowed).toBe(10);
  });

  it("percent 0 and minPerSecond 0 allow no retry at all", () => {
    const w = newRetryBudgetWindow();
    for (let i = 0; i < 100; i++) noteRequest(w, T0);
    expect(spendRetry(w, { percent: 0, minPerSecond: 0 }, T0)).toBe(false);
  });

  it("property: in any 10 s window, retries never exceed percent × requests + minPerSecond × window", () => {
    // A run: each step moves the clock forward a little, then is a request or a retry attempt.
    const step = fc.record({ advanceMs: fc.integer({ min: 0, max: 1500 }), retry: fc.boolean() });
    fc.assert(
      fc.property(
        fc.record({ percent: fc.integer({ min: 0, max: 100 }), minPerSecond: fc.integer({ min: 0, max: 5 }) }),
        fc.array(step, { minLength: 1, maxLength: 400 }),
        (config, steps) => {
          const w = newRetryBudgetWindow();
          let now = T0;
          const log: { sec: number; retry: boolean }[] = [];
          for (const s of steps) {
            now += s.advanceMs;
            if (!s.retry) {
              noteRequest(w, now);
              log.push({ sec: Math.floor(now / 1000), retry: false });
            } else if (spendRetry(w, config, now)) {
              log.push({ sec: Math.floor(now / 1000), retry: true });
            }
          }
          // Every window of WINDOW_SECONDS whole seconds that the run touched.
          return withinBudget(config, log, Math.floor(T0 / 1000) - WINDOW_SECONDS, Math.floor(now / 1000));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("property: the bound holds when requests are noted with a time that lags the clock", () => {
    // As the edge may: a request's start time, noted after its body or a fallback hop took seconds.
    const step = fc.record({
      advanceMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1500 })),
      retry: fc.boolean(),
      // Lags of 10-20 s land on the slot of a second still in the window.
      lagMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 30_000 }), fc.integer({ min: 10_000, max: 20_000 })),
    });
    fc.assert(
      fc.property(
        fc.record({ percent: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 100 })), minPerSecond: fc.integer({ min: 0, max: 5 }) }),
        // "large": the default size keeps runs to a dozen steps, too few to fill a budget.
        fc.array(step, { minLength: 1, maxLength: 400, size: "large" }),
        (config, steps) => {
          const w = newRetryBudgetWindow();
          let now = T0;
          const log: { sec: number; retry: boolean }[] = [];
          for (const s of steps) {
            now += s.advanceMs;
            if (!s.retry) {
              noteRequest(w, now - s.lagMs);
              // Counted (by the real clock) when it was noted: it cannot pay for a retry made before that.
              log.push({ sec: Math.floor(now / 1000), retry: false });
            } else if (spendRetry(w, config, now)) {
              log.push({ sec: Math.floor(now / 1000), retry: true });
            }
          }
          return withinBudget(config, log, Math.floor(T0 / 1000), Math.floor(now / 1000));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("property: with steady traffic and every try failing, retries settle at percent of requests plus the floor", () => {
    fc.assert(
      fc.property(fc.integer({ min: 50, max: 400 }), fc.integer({ min: 0, max: 50 }), (perSecond, percent) => {
        const config = { percent, minPerSecond: 1 };
        const w = newRetryBudgetWindow();
        let retries = 0;
        const seconds = 30;
        for (let s = 0; s < seconds; s++) {
          for (let i = 0; i < perSecond; i++) {
            const now = T0 - (T0 % 1000) + s * 1000 + i;
            noteRequest(w, now);
            // Two retries wanted per request (attempts 3, every origin failing).
            if (spendRetry(w, config, now)) retries++;
            if (spendRetry(w, config, now)) retries++;
          }
        }
        const requests = perSecond * seconds;
        // The first window may use the floor in full; each later one at most its share.
        return retries * 100 <= percent * requests + 100 * config.minPerSecond * WINDOW_SECONDS * Math.ceil(seconds / WINDOW_SECONDS);
      }),
      { numRuns: 50 },
    );
  });
});
