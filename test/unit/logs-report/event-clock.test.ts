import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventClock } from "../../../scripts/logs-report/event-clock.mjs";

describe("EventClock.epochMs", () => {
  it("reads every toISOString() time as Date.parse does, through minute changes in any order", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -8_640_000_000_000, max: 8_640_000_000_000 }), { maxLength: 30 }), (times) => {
        const clock = new EventClock();
        for (const t of times) {
          const near = new Date(t + 1234).toISOString();
          expect(clock.epochMs(new Date(t).toISOString())).toBe(t);
          expect(clock.epochMs(near)).toBe(Date.parse(near));
        }
      }),
    );
  });

  it("gives Date.parse's answer (NaN included) for times of another shape or with junk in the seconds", () => {
    const clock = new EventClock();
    expect(clock.epochMs("2026-11-30T10:00:00.000Z")).toBe(Date.parse("2026-11-30T10:00:00.000Z"));
    for (const ts of ["2026-11-30T10:00:60.000Z", "2026-11-30T10:00:0x.000Z", "2026-11-30T10:00:01.00xZ", "2026-11-30T10:00:01Z", "2026-11-30T10:00:01.000+01:00", "2026-11-30 10:00:01.000Z", "not a time at all 1.000Z"]) {
      expect(clock.epochMs(ts)).toEqual(Date.parse(ts));
    }
  });
});
