import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isoTimeProblem, isoTimeSchema } from "../../../src/core/events/iso-time.js";

/** What the schema says about a string: null when it accepts it, else its one message. */
function verdict(text: string): string | null {
  const r = isoTimeSchema.safeParse(text);
  if (r.success) return null;
  expect(r.error.issues).toHaveLength(1);
  return r.error.issues[0]?.message ?? "";
}

const SHAPE = "must be an RFC 3339 date-time";
const REAL = "must name a real date and time";

/** Strings the event times accept: RFC 3339 date-times as the mesh writes them, and the offsets and precisions RFC 3339 allows. */
const ACCEPTED: readonly string[] = [
  // new Date(ms).toISOString(), what every writer prints (src/edge/report/request-log.ts, src/core/events/coordinator-events.ts).
  "2026-11-30T10:00:00.000Z",
  "2026-12-31T23:59:59.999Z",
  "1970-01-01T00:00:00.000Z",
  "0000-01-01T00:00:00.000Z",
  "9999-12-31T23:59:59.999Z",
  // Seconds without a fraction, or with 1 to 9 digits of one.
  "2026-11-30T10:00:00Z",
  "2026-11-30T10:00:00.1Z",
  "2026-11-30T10:00:00.123456789Z",
  // A numeric offset, at its bounds; -00:00 is RFC 3339's "UTC known, local offset unknown" (§4.3).
  "2026-11-30T11:00:00.000+01:00",
  "2026-11-30T04:30:00-05:30",
  "2026-11-30T10:00:00+00:00",
  "2026-11-30T10:00:00-00:00",
  "2026-11-30T10:00:00+23:59",
  "2026-11-30T10:00:00.5-23:59",
  // Leap days, the last day of each length of month, the last second of a day.
  "2028-02-29T00:00:00.000Z",
  "2000-02-29T00:00:00.000Z",
  "0000-02-29T00:00:00.000Z",
  "2026-02-28T23:59:59.999Z",
  "2026-04-30T00:00:00.000Z",
  "2026-01-31T00:00:00.000Z",
];

/** [string, what the message says]: what Date.parse took before, and what it cannot take. */
const REFUSED: readonly (readonly [string, string])[] = [
  // Date.parse reads each as a time; none is an RFC 3339 date-time.
  ["1", SHAPE],
  ["2026", SHAPE],
  ["yesterday", SHAPE],
  ["Dec 1 2026", SHAPE],
  ["1 December 2026", SHAPE],
  ["Tue, 01 Dec 2026 10:00:00 GMT", SHAPE],
  ["Thu Jan 01 2099 00:00:00 GMT+0000 (Coordinated Universal Time)", SHAPE],
  ["2026-12-01", SHAPE],
  ["2026-12-01 10:00", SHAPE],
  ["2026-12-01 10:00:00Z", SHAPE],
  ["2026-12-01T10:00Z", SHAPE],
  // No zone: Date.parse reads it in the machine's own time zone.
  ["2026-12-01T10:00:00", SHAPE],
  ["2026-12-01T10:00:00.000", SHAPE],
  ["2026-12-01T10:00:00+0100", SHAPE],
  ["2026-12-01T10:00:00+01", SHAPE],
  ["2026-12-01T10:00:00.000+01:00:00", SHAPE],
  ["2026-12-01T10:00:00 Z", SHAPE],
  ["2026-12-01T10:00:00 GMT", SHAPE],
  ["2026-12-01T10:00:00UTC", SHAPE],
  // T and Z as ISO 8601 and every writer print them.
  ["2026-12-01t10:00:00.000z", SHAPE],
  ["2026-12-01T10:00:00.000z", SHAPE],
  // The fraction: a point and 1 to 9 digits (ISO 8601's comma is not RFC 3339's).
  ["2026-12-01T10:00:00.Z", SHAPE],
  ["2026-12-01T10:00:00,000Z", SHAPE],
  ["2026-12-01T10:00:00.1234567890Z", SHAPE],
  // Four-digit years only: toISOString's expanded years (outside 0000-9999) are ISO 8601 by agreement, not RFC 3339.
  ["+010000-01-01T00:00:00.000Z", SHAPE],
  ["-000001-12-31T00:00:00.000Z", SHAPE],
  ["+002026-12-01T10:00:00.000Z", SHAPE],
  // ISO 8601's other forms, and fields of the wrong width.
  ["20261201T100000Z", SHAPE],
  ["2026-W49-2T10:00:00Z", SHAPE],
  ["2026-335T10:00:00Z", SHAPE],
  ["26-12-01T10:00:00Z", SHAPE],
  ["2026-1-01T10:00:00Z", SHAPE],
  ["2026-12-1T10:00:00Z", SHAPE],
  ["2026-12-01T1:00:00Z", SHAPE],
  ["2026-12-01T10:00:0Z", SHAPE],
  // Nothing around it, and ASCII digits only.
  [" 2026-12-01T10:00:00.000Z", SHAPE],
  ["2026-12-01T10:00:00.000Z ", SHAPE],
  ["2026-12-01T10:00:00.000Z\n", SHAPE],
  ["2026-12-01T10:00:00.000Z2026-12-01T10:00:00.000Z", SHAPE],
  ["\uff12\uff10\uff12\uff16-12-01T10:00:00Z", SHAPE],
  ["2026-12-01T\u0661\u0660:00:00Z", SHAPE],
  ["", SHAPE],
  // Dates and times that do not exist. Date.parse takes the first seven and carries them into the next day, month or year.
  ["2026-02-29T00:00:00.000Z", `${REAL}: 2026-02 has no day 29`],
  ["2026-02-30T00:00:00.000Z", `${REAL}: 2026-02 has no day 30`],
  ["2100-02-29T00:00:00.000Z", `${REAL}: 2100-02 has no day 29`],
  ["2026-04-31T00:00:00.000Z", `${REAL}: 2026-04 has no day 31`],
  ["2026-11-31T10:00:00+01:00", `${REAL}: 2026-11 has no day 31`],
  ["2026-12-01T24:00:00.000Z", `${REAL}: there is no hour 24`],
  ["2026-12-31T24:00:00Z", `${REAL}: there is no hour 24`],
  ["2026-12-32T00:00:00.000Z", `${REAL}: 2026-12 has no day 32`],
  ["2026-12-00T00:00:00.000Z", `${REAL}: 2026-12 has no day 00`],
  ["2026-13-01T00:00:00.000Z", `${REAL}: there is no month 13`],
  ["2026-00-10T00:00:00.000Z", `${REAL}: there is no month 00`],
  ["2026-12-01T23:60:00.000Z", `${REAL}: there is no minute 60`],
  ["2026-12-01T99:99:99.000Z", `${REAL}: there is no hour 99`],
  // A leap second: Date has none (Date.parse refuses :60), so no reader could place the line.
  ["2026-12-31T23:59:60.000Z", `${REAL}: there is no second 60`],
  ["2026-12-01T10:00:00+24:00", `${REAL}: there is no offset +24:00`],
  ["2026-12-01T10:00:00-01:60", `${REAL}: there is no offset -01:60`],
];

describe("the mesh's event times (src/core/events/iso-time.ts)", () => {
  it.each(ACCEPTED)("accepts %j", (text) => {
    expect(isoTimeProblem(text)).toBeNull();
    expect(verdict(text)).toBeNull();
  });

  it.each(REFUSED)("refuses %j, saying why", (text, message) => {
    expect(isoTimeProblem(text)).toMatch(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    expect(verdict(text)).toBe(isoTimeProblem(text));
  });

  it("says what it wants, with an example, for a string of another shape", () => {
    expect(isoTimeProblem("Dec 1 2026")).toBe("must be an RFC 3339 date-time such as 2026-11-30T10:00:00.000Z or 2026-11-30T11:00:00+01:00");
  });

  it("refuses what is not a string, as a string schema does", () => {
    expect(isoTimeSchema.safeParse(1_796_119_200_000).success).toBe(false);
    expect(isoTimeSchema.safeParse(null).success).toBe(false);
  });

  it("every accepted string is one Date.parse reads, so a reader of a valid line can always place it", () => {
    for (const text of ACCEPTED) expect(Number.isNaN(Date.parse(text))).toBe(false);
  });
});

/** toISOString's range in RFC 3339's four-digit years: 0000-01-01 to 9999-12-31. */
const FIRST = Date.parse("0000-01-01T00:00:00.000Z");
const LAST = Date.parse("9999-12-31T23:59:59.999Z");

const pad = (n: number, width: number) => String(n).padStart(width, "0");
/** toISOString's shape with every field drawn from real values and wrong ones, so both verdicts come often. */
const nearToIsoString = fc
  .tuple(
    fc.oneof(fc.integer({ min: 1900, max: 2200 }), fc.integer({ min: 0, max: 9999 })),
    fc.integer({ min: 0, max: 14 }),
    fc.integer({ min: 0, max: 33 }),
    fc.integer({ min: 0, max: 25 }),
    fc.integer({ min: 0, max: 61 }),
    fc.integer({ min: 0, max: 61 }),
    fc.integer({ min: 0, max: 999 }),
  )
  .map(([y, mo, d, h, mi, s, ms]) => `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${pad(ms, 3)}Z`);

describe("properties", () => {
  it("accepts every new Date(x).toISOString() from year 0000 to 9999", () => {
    const edges = fc.constantFrom(FIRST, LAST, 0, Date.parse("2000-02-29T23:59:59.999Z"), Date.parse("2100-03-01T00:00:00.000Z"));
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: FIRST, max: LAST }), edges), (x) => {
        expect(isoTimeProblem(new Date(x).toISOString())).toBeNull();
      }),
      { numRuns: 20_000 },
    );
  });

  it("refuses toISOString's expanded years, just past either end", () => {
    expect(isoTimeProblem(new Date(FIRST - 1).toISOString())).toMatch(/^must be an RFC 3339 date-time/);
    expect(isoTimeProblem(new Date(LAST + 1).toISOString())).toMatch(/^must be an RFC 3339 date-time/);
  });

  it("in toISOString's shape, accepts exactly the strings that name the instant they round-trip to", () => {
    fc.assert(
      fc.property(nearToIsoString, (text) => {
        const t = Date.parse(text);
        const real = !Number.isNaN(t) && new Date(t).toISOString() === text;
        expect(isoTimeProblem(text) === null).toBe(real);
      }),
      { numRuns: 20_000 },
    );
  });

  it("every string it accepts, offset or not, is one Date.parse reads", () => {
    const fraction = fc.option(fc.stringMatching(/^\.\d{1,9}$/), { nil: "" });
    const zone = fc.oneof(fc.constant("Z"), fc.tuple(fc.constantFrom("+", "-"), fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 61 })).map(([s, h, m]) => `${s}${pad(h, 2)}:${pad(m, 2)}`));
    const text = fc.tuple(nearToIsoString, fraction, zone).map(([t, f, z]) => `${t.slice(0, 19)}${f}${z}`);
    fc.assert(
      fc.property(text, (t) => {
        if (isoTimeProblem(t) === null) expect(Number.isNaN(Date.parse(t))).toBe(false);
      }),
      { numRuns: 20_000 },
    );
  });

  it("the generator reaches both verdicts, so the round-trip property compares real readings", () => {
    const sample = fc.sample(nearToIsoString, { numRuns: 5_000, seed: 1 });
    const accepted = sample.filter((t) => isoTimeProblem(t) === null).length;
    expect(accepted).toBeGreaterThan(500);
    expect(sample.length - accepted).toBeGreaterThan(500);
  });
});
