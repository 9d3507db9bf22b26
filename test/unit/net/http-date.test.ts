import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_RETRY_AFTER_MS, retryAfterMs } from "../../../src/core/flow/retry-after.js";
import { parseHttpDate } from "../../../src/core/net/http-date.js";
import { parseHttpDate as scriptParseHttpDate } from "../../../scripts/lib/http-date.mjs";
import { MAX_RETRY_AFTER_MS as SCRIPT_MAX_RETRY_AFTER_MS, retryAfterMs as scriptRetryAfterMs } from "../../../scripts/lib/start-retry.mjs";
import { HTTP_DATE_CASES, NOW, RETRY_AFTER_CASES } from "./http-date.cases.js";

/**
 * The edge's HTTP-date reader and the registration client's copy of it (node
 * runs the scripts as .mjs, which cannot import TypeScript), held to one
 * table and to each other, so the copy cannot drift.
 */
const parsers = [
  { name: "src/core/net/http-date.ts", parse: parseHttpDate },
  { name: "scripts/lib/http-date.mjs", parse: scriptParseHttpDate },
];

describe.each(parsers)("HTTP-date (RFC 9110 §5.6.7), $name", ({ parse }) => {
  it.each(HTTP_DATE_CASES)("%j", (text, instant) => {
    expect(parse(text, NOW)).toBe(instant);
  });
});

/** What each caller does with the wait a Retry-After asks for. */
const readers = [
  {
    name: "the edge's hold (src/core/flow/retry-after.ts): none for a wait of 0 or a date past, at most 300 s",
    read: retryAfterMs,
    expected: (wait: number | null) => (wait === null || wait <= 0 ? null : Math.min(wait, MAX_RETRY_AFTER_MS)),
  },
  {
    name: "the registration client's wait (scripts/lib/start-retry.mjs): 0 for a date past, at most 300 s",
    read: scriptRetryAfterMs,
    expected: (wait: number | null) => (wait === null ? null : Math.min(SCRIPT_MAX_RETRY_AFTER_MS, Math.max(0, wait))),
  },
];

describe.each(readers)("Retry-After, $name", ({ read, expected }) => {
  it("caps at 5 minutes", () => {
    expect(MAX_RETRY_AFTER_MS).toBe(300_000);
    expect(SCRIPT_MAX_RETRY_AFTER_MS).toBe(300_000);
  });

  it.each(RETRY_AFTER_CASES)("%j", (header, wait) => {
    expect(read(header, NOW)).toBe(expected(wait));
  });
});

/**
 * Near-misses of the three forms: every field drawn from real values and
 * wrong ones, so that about one in seven names its true weekday and most of
 * the rest fail on one field.
 */
const pad = (n: number, width: number) => String(n).padStart(width, "0");
const field = {
  short: fc.constantFrom("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "mon", "Tues", "Foo"),
  long: fc.constantFrom("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Tue", "monday"),
  month: fc.constantFrom("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "dec", "Sept", "Foo"),
  day: fc.oneof(fc.integer({ min: 0, max: 39 }).map((d) => pad(d, 2)), fc.integer({ min: 1, max: 9 }).map(String)),
  year4: fc.oneof(fc.integer({ min: 1900, max: 2200 }), fc.integer({ min: 0, max: 9999 })).map((y) => pad(y, 4)),
  year2: fc.integer({ min: 0, max: 99 }).map((y) => pad(y, 2)),
  time: fc.tuple(fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 61 }), fc.integer({ min: 0, max: 62 })).map((t) => t.map((n) => pad(n, 2)).join(":")),
  zone: fc.constantFrom("GMT", "GMT", "GMT", "UTC", "gmt", ""),
};
const nearHttpDate = fc.oneof(
  fc.tuple(field.short, field.day, field.month, field.year4, field.time, field.zone).map(([w, d, m, y, t, z]) => `${w}, ${d} ${m} ${y} ${t} ${z}`),
  fc.tuple(field.long, field.day, field.month, field.year2, field.time, field.zone).map(([w, d, m, y, t, z]) => `${w}, ${d}-${m}-${y} ${t} ${z}`),
  fc
    .tuple(field.short, field.month, fc.oneof(field.day, fc.integer({ min: 1, max: 9 }).map((d) => ` ${d}`)), field.time, field.year4)
    .map(([w, m, d, t, y]) => `${w} ${m} ${d} ${t} ${y}`),
);
// Any instant from 1900 to 2200, so rfc850's two-digit year is read against many centuries.
const anyNow = fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2200, 0, 1) });

describe("the registration client's copy agrees with src/core", () => {
  it("property: both read every near-HTTP-date, at any time, to the same instant or both to null", () => {
    fc.assert(
      fc.property(fc.oneof(nearHttpDate, fc.string()), anyNow, (text, now) => {
        expect(scriptParseHttpDate(text, now)).toBe(parseHttpDate(text, now));
      }),
      { numRuns: 20_000 },
    );
  });

  it("property: both read a Retry-After to the same wait (the edge holds nothing where the client waits 0)", () => {
    const header = fc.oneof(nearHttpDate, fc.stringMatching(/^\s?\d{0,12}\s?$/), fc.string());
    fc.assert(
      fc.property(header, anyNow, (value, now) => {
        const wait = scriptRetryAfterMs(value, now);
        expect(retryAfterMs(value, now)).toBe(wait === 0 ? null : wait);
      }),
      { numRuns: 20_000 },
    );
  });

  it("the generator reaches accepted dates in every form, so the properties compare real readings", () => {
    const accepted = fc.sample(nearHttpDate, { numRuns: 5_000, seed: 1 }).filter((t) => parseHttpDate(t, NOW) !== null);
    expect(accepted.some((t) => t.endsWith(" GMT") && t.includes(", ") && !t.includes("-"))).toBe(true);
    expect(accepted.some((t) => /-\d{2} /.test(t))).toBe(true);
    expect(accepted.some((t) => /\d{4}$/.test(t))).toBe(true);
  });
});
