import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { extract, extractParsed } from "../../../scripts/logs-report/read/extract.mjs";
import { requestAt } from "../../../scripts/logs-report/read/request-shape.mjs";
import { isLatency, isWeight, MAX_WEIGHT } from "../../../scripts/logs-report/read/weight.mjs";
import { MIN_LOG_SAMPLE } from "../../../src/core/events/log-sample.js";
import type { RequestEvent } from "../../../src/core/events/request-event.js";
import { requestEventLine } from "../../../src/core/events/request-line.js";
import { requestEventArbitrary } from "../events/request-event-arbitrary.js";

// The quick path of extract cuts `Logs[].Message[]` out of a Logpush record
// by searching for keys and the array's end; these properties hold it to
// what one JSON.parse of the whole line reads, on records built to trip
// those searches: quotes, backslashes, `]`, the keys themselves inside
// strings, non-ASCII text and lone surrogates (which JSON.stringify escapes).

/** Characters and pieces that the searches look for, or that change how a string is escaped. */
const tricky = fc.string({
  unit: fc.constantFrom('"', "\\", "]", '"]', '\\"]', "[", ",", '"Message":[', "Message", '"Logs":[', "Logs", "{", "}", "\n", "\u0000", "\u2028", "\ud800", "\udfff", "😀", "é", "a", " "),
  maxLength: 12,
});
const anyText = fc.oneof(tricky, fc.string({ unit: "binary", maxLength: 20 }));
const nullable = fc.option(anyText, { nil: null });

const requestEvent = fc.record({
  v: fc.constant(1),
  event: fc.constant("request"),
  ts: fc.oneof(fc.constantFrom("2026-11-30T10:00:00.000Z", "2026-11-30T10:59:59.999Z"), anyText),
  service: nullable,
  path: anyText,
  status: fc.integer({ min: 100, max: 599 }),
  outcome: anyText,
  instance: nullable,
  attempts: fc.nat({ max: 4 }),
  tried: fc.array(anyText, { maxLength: 3 }),
  failures: fc.array(anyText, { maxLength: 3 }),
  latencyMs: fc.oneof(fc.nat({ max: 5000 }), fc.double({ noNaN: true, noDefaultInfinity: true })),
  upstreamLatencyMs: fc.option(fc.nat({ max: 5000 }), { nil: null }),
});
const coordinatorEvent = fc.record({
  event: fc.constantFrom("health_transition", "ejection", "lease_expired"),
  ts: fc.constant("2026-11-30T10:00:01.000Z"),
  service: anyText,
  instance: anyText,
});

/** Ids, slugs and times as the mesh writes them: nothing to escape, so request-shape.mjs reads them. */
const plain = fc.string({ unit: fc.constantFrom("a", "z", "0", "9", "-", "_", ".", ":", "/", " ", "é", "😀", "]", "[", ",", "{", "}"), maxLength: 12 });
const shapeText = fc.oneof({ weight: 4, arbitrary: plain }, { weight: 1, arbitrary: anyText });
const number = fc.oneof(fc.nat({ max: 100_000 }), fc.constantFrom(-0, 0.5, 1e21, 1e-7, -3, 2 ** 53 + 2));

/** A request event in the schema's field order, as requestEventLine writes it (the shape request-shape.mjs reads). */
/** Weights: 1, a sampled success's 1/p (whole or not), and, now and then, one out of bounds (malformed). */
const weight = fc.oneof(
  { weight: 2, arbitrary: fc.constant(1) },
  { weight: 2, arbitrary: fc.constantFrom(2, 100, 1 / 0.3, 1 / 0.000001) },
  { weight: 1, arbitrary: fc.constantFrom(0.5, 0, -1, 1e300, 2_000_000) },
);
const eventOf = (text: fc.Arbitrary<string>): fc.Arbitrary<RequestEvent> =>
  requestEventArbitrary({ text, number, ts: fc.oneof(fc.constant("2026-11-30T10:00:00.123Z"), text), weight });
const meshEvent = eventOf(shapeText);

/** What a line looked like: as printed now, before `weight`, or before fallbackFrom and retryBudgetExhausted too. */
type Era = "now" | "before-weight" | "before-v1-additions";
const era = fc.constantFrom<Era>("now", "before-weight", "before-v1-additions");
function lineOf(e: RequestEvent, when: Era): string {
  if (when === "now") return requestEventLine(e);
  const { weight: _w, ...beforeWeight } = e;
  if (when === "before-weight") return JSON.stringify(beforeWeight);
  const { fallbackFrom: _f, retryBudgetExhausted: _r, ...before } = beforeWeight;
  return JSON.stringify(before);
}
const meshLine = fc.tuple(meshEvent, era).map(([e, when]) => lineOf(e, when));

/** A mesh event with one of its fields taken away or replaced by the wrong type: malformed if it parses. */
const brokenEvent = fc
  .tuple(requestEvent, fc.constantFrom("ts", "status", "tried", "service", "latencyMs", "weight"), fc.constantFrom(undefined, 7, "x", [1], null))
  .map(([e, key, value]) => ({ ...e, [key]: value }));

/** What a Worker may print: mesh events (as JSON text), other text, and (rarely) a non-string log argument. */
const message = fc.oneof(
  { weight: 4, arbitrary: meshLine },
  { weight: 2, arbitrary: requestEvent.map((e) => JSON.stringify(e)) },
  { weight: 1, arbitrary: coordinatorEvent.map((e) => JSON.stringify(e)) },
  { weight: 1, arbitrary: brokenEvent.map((e) => JSON.stringify(e)) },
  { weight: 1, arbitrary: requestEvent.map((e) => JSON.stringify(e).slice(0, -3)) },
  { weight: 1, arbitrary: anyText },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(3, null, { event: "request" }, ["x"]) },
);

const logEntry = fc.record({ Level: fc.constantFrom("log", "error"), Message: fc.array(message, { maxLength: 3 }), TimestampMs: fc.nat() });

/** A Workers Trace Events record; fields before Logs carry text that looks like its keys. */
const recordLine = fc
  .record({ ScriptName: anyText, Event: fc.record({ RayID: anyText, URL: anyText }), Logs: fc.array(logEntry, { maxLength: 3 }), Outcome: anyText })
  .map((r) => JSON.stringify(r));

type Extracted = ReturnType<typeof extract>;
type Event = Extracted["events"][number];

/** An event as the report reads it: the fields aggregate.mjs uses (a parsed event carries every field of the line). */
function asRead(e: Event): Record<string, unknown> {
  if (e.event !== "request") return { event: e.event, ts: e.ts, service: e.service, instance: e.instance };
  const { event, ts, service, instance, status, outcome, attempts, tried, failures, latencyMs, upstreamLatencyMs, weight } = e;
  return { event, ts, service, instance, status, outcome, attempts, tried, failures, latencyMs, upstreamLatencyMs, weight };
}
const read = (x: Extracted) => ({ ...x, events: x.events.map(asRead) });

describe("extract's quick path", () => {
  it("reads every record exactly as one JSON.parse of the line does", () => {
    fc.assert(
      fc.property(recordLine, (line) => {
        expect(read(extract(line))).toEqual(read(extractParsed(line)));
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on a record cut short or with a character put in or taken out, and agrees with JSON.parse whenever the line still parses", () => {
    const edit = fc.tuple(fc.nat(), fc.constantFrom("cut", "drop", '"', "\\", "]", ",", "}", "x"));
    fc.assert(
      fc.property(recordLine, edit, (line, [at, how]) => {
        const k = at % (line.length + 1);
        const changed = how === "cut" ? line.slice(0, k) : how === "drop" ? line.slice(0, k) + line.slice(k + 1) : line.slice(0, k) + how + line.slice(k);
        const x = extract(changed);
        expect(x.malformed).toBeGreaterThanOrEqual(0);
        let parses = true;
        try {
          JSON.parse(changed);
        } catch {
          parses = false;
        }
        if (parses) expect(read(x)).toEqual(read(extractParsed(changed)));
        // A line that is not JSON is malformed, unless it is blank or still looks like a record to the quick
        // path, which reads only the Logs part (damage elsewhere in a record is not its business).
        else {
          const looksLikeRecord = changed.startsWith("{") && changed.endsWith("}") && changed.includes('"Logs":[');
          expect(x.malformed > 0 || looksLikeRecord || changed.trim() === "").toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("reads the events the mesh printed, with escapes beyond quotes and several strings in one Message", () => {
    const event = { v: 1, event: "request", ts: "2026-11-30T10:00:00.000Z", service: 'sh"op\\', path: "/a\u2028\ud800", status: 200, outcome: "ok", instance: "i]", attempts: 1, tried: ['i"]'], failures: [], latencyMs: 3, upstreamLatencyMs: null };
    const line = JSON.stringify({ Logs: [{ Message: ["text", JSON.stringify(event), 5] }, { Message: [] }, { Message: [JSON.stringify({ ...event, service: "b" })] }] });
    const x = extract(line);
    expect(read(x)).toEqual(read(extractParsed(line)));
    expect(x.events.map((e) => e.service)).toEqual(['sh"op\\', "b"]);
    expect(x.malformed).toBe(0);
  });
});

describe("request line weights", () => {
  it("takes the bounds the schema takes", () => {
    expect(MAX_WEIGHT).toBe(1 / MIN_LOG_SAMPLE);
    expect([1, 2, 1 / 0.3, MAX_WEIGHT].every(isWeight)).toBe(true);
    expect([0, 0.999, -1, MAX_WEIGHT * 2, Number.NaN, Number.POSITIVE_INFINITY, "2", null].some(isWeight)).toBe(false);
  });

  it("counts a line without weight as 1 and one with a weight out of bounds as malformed, on both paths", () => {
    const base = { v: 1, event: "request", ts: "2026-11-30T10:00:00.000Z", service: "s", path: "/", status: 200, outcome: "ok", instance: "a", attempts: 1, tried: ["a"], failures: [], latencyMs: 1, upstreamLatencyMs: null };
    expect(extractParsed(JSON.stringify(base)).events).toMatchObject([{ weight: 1 }]);
    expect(extractParsed(JSON.stringify({ ...base, weight: 4 })).events).toMatchObject([{ weight: 4 }]);
    for (const bad of [0.5, "4", null, 1e300]) {
      const line = JSON.stringify({ Logs: [{ Message: [JSON.stringify({ ...base, weight: bad })] }] });
      expect(extract(line)).toMatchObject({ events: [], malformed: 1 });
    }
  });
});

describe("requestAt", () => {
  /** Where the first Message string's text starts in a record holding `message` alone. */
  const inRecord = (message: string) => {
    const line = JSON.stringify({ Outcome: "ok", Logs: [{ Level: "log", Message: [message], TimestampMs: 1 }] });
    return { line, at: line.indexOf('"Message":["') + '"Message":["'.length };
  };

  it("reads the line the mesh writes, now and before its later fields, without JSON.parse, as JSON.parse reads it", () => {
    fc.assert(
      fc.property(fc.oneof(eventOf(plain), meshEvent), era, (e, when) => {
        const message = lineOf(e, when);
        const { line, at } = inRecord(message);
        const events: Event[] = [];
        const end = requestAt(line, at, events);
        // As it stands in the record: an escape other than a quote's is left to JSON.parse, and so is a weight or a latency out of bounds.
        const escaped = JSON.stringify(message);
        const badLatency = !isLatency(e.latencyMs) || (e.upstreamLatencyMs !== null && !isLatency(e.upstreamLatencyMs));
        if (escaped.slice(1, -1).replaceAll('\\"', "").includes("\\") || (when === "now" && !isWeight(e.weight)) || badLatency) {
          expect([end, events]).toEqual([-1, []]);
          return;
        }
        // A line from before the field stands for one request.
        const parsed = JSON.parse(message) as Extract<Event, { event: "request" }>;
        expect(events.map(asRead)).toEqual([asRead({ ...parsed, weight: when === "now" ? parsed.weight : 1 })]);
        expect(end).toBe(at + escaped.length); // just past the array's `"]`
      }),
      { numRuns: 1000 },
    );
  });

  it("leaves to JSON.parse a line in another field order, a second string in the array, or a coordinator event", () => {
    const e = { v: 1, event: "request", ts: "2026-11-30T10:00:00.000Z", requestId: "r", traceId: "t", spanId: "s", service: "shop", method: "GET", host: "h", path: "/", status: 200, outcome: "ok", instance: "a", attempts: 1, tried: ["a"], failures: [], latencyMs: 1, upstreamLatencyMs: 1, bytesIn: 0, bytesOut: 0, colo: null, country: null, mode: "snapshot", snapshotVersion: 1 };
    const matches = (line: string, at: number) => requestAt(line, at, []) !== -1;
    const written = inRecord(JSON.stringify(e));
    expect(matches(written.line, written.at)).toBe(true);
    const { service, ...rest } = e;
    const reordered = inRecord(JSON.stringify({ ...rest, service }));
    expect(matches(reordered.line, reordered.at)).toBe(false);
    const two = JSON.stringify({ Logs: [{ Message: [JSON.stringify(e), "more"] }] });
    expect(matches(two, two.indexOf('"Message":["') + 12)).toBe(false);
    expect(extract(two).events).toHaveLength(1);
    const coordinator = inRecord(JSON.stringify({ v: 1, event: "ejection", ts: e.ts, service: "shop", instance: "a" }));
    expect(matches(coordinator.line, coordinator.at)).toBe(false);
    expect(extract(coordinator.line).events).toEqual([{ v: 1, event: "ejection", ts: e.ts, service: "shop", instance: "a" }]);
  });
});
