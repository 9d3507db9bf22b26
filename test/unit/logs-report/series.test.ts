import { describe, expect, it } from "vitest";
import { bucketFor, CoarseSeries, fold, MAX_POINTS, type Point } from "../../../scripts/logs-report/series.mjs";

const START = Date.parse("2026-11-30T10:00:00.000Z");

/** Deterministic event times over `spanMs`, out of order, with every fifth an error. */
function events(count: number, spanMs: number): { ms: number; err: number }[] {
  return Array.from({ length: count }, (_, i) => ({ ms: START + ((i * 7919) % count) * Math.floor(spanMs / count), err: i % 5 === 0 ? 1 : 0 }));
}

/** What the report does for a service: one point per second, bucketed at the end. */
function perSecondThenBucketed(es: { ms: number; err: number }[], width: number): Map<number, Point> {
  const perSecond = new Map<number, Point>();
  for (const e of es) {
    const sec = Math.floor(e.ms / 1000);
    const p = perSecond.get(sec) ?? [0, 0];
    perSecond.set(sec, [p[0] + 1, p[1] + e.err]);
  }
  return fold(perSecond, width);
}

describe("an instance's coarse series", () => {
  it("keeps at most MAX_POINTS + 2 points over a day, and gives the report's buckets exactly", () => {
    const es = events(50_000, 86_400_000);
    const s = new CoarseSeries();
    let most = 0;
    for (const e of es) {
      s.add(e.ms, 1, e.err);
      most = Math.max(most, s.points.size);
    }
    expect(most).toBeLessThanOrEqual(MAX_POINTS + 2);
    const width = bucketFor(Math.max(...es.map((e) => e.ms)) - Math.min(...es.map((e) => e.ms)));
    // Just short of 86,400 s: 144 points of 600 s would be too many, 48 of 1800 s are not.
    expect(width).toBe(1800);
    const expected = perSecondThenBucketed(es, width);
    const starts = [...expected.keys()].sort((a, b) => a - b);
    expect(s.at(width, starts)).toEqual(starts.map((at) => expected.get(at)));
  });

  it("folds into a wider report bucket than its own, with zeros where it had nothing", () => {
    // The instance saw ten minutes; the report (other instances, other services) spans a day.
    const es = events(600, 600_000);
    const s = new CoarseSeries();
    for (const e of es) s.add(e.ms, 1, e.err);
    expect(s.width).toBe(5);
    const startSec = START / 1000;
    expect(s.at(1800, [startSec - 1800, startSec, startSec + 1800])).toEqual([[0, 0], [600, 120], [0, 0]]);
  });

  it("merges partial series of different widths into the one series a single pass builds", () => {
    const es = events(20_000, 6 * 3_600_000).sort((a, b) => a.ms - b.ms);
    const whole = new CoarseSeries();
    for (const e of es) whole.add(e.ms, 1, e.err);
    // Three stretches of time (54 s, about 1.5 h, 4.5 h: widths 1, 60 and 300 s), merged through structured clone as threads do.
    const parts = [es.slice(0, 50), es.slice(50, 5_000), es.slice(5_000)].map((part) => {
      const s = new CoarseSeries();
      for (const e of part) s.add(e.ms, 1, e.err);
      return s;
    });
    expect(parts.map((p) => p.width)).toEqual([1, 60, 300]);
    const merged = new CoarseSeries();
    for (const p of parts) merged.merge(structuredClone(p.counts()));
    merged.merge(structuredClone(new CoarseSeries().counts()));
    expect(merged.width).toBe(whole.width);
    expect(merged.points).toEqual(whole.points);
  });
});
