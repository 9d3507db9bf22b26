// @ts-check
// From one input line to the mesh events in it. Two line shapes are read:
//  - a Workers Trace Events record (Logpush, or the local pipeline), whose
//    `Logs[].Message[]` hold the lines the mesh printed, one JSON string each;
//  - a mesh event line itself (NDJSON of the printed lines, e.g. a capture
//    of the Worker's stdout).
// The checks here are the few fields the report reads, by hand: the zod
// schema (src/core/events/) is the contract, this is the fast reader of it.
// A request line in the shape the mesh writes it is read without JSON.parse
// (request-shape.mjs); every other message is parsed.
import { requestAt } from "./request-shape.mjs";
import { isLatency, isWeight } from "./weight.mjs";

/**
 * @typedef {{ event: "request", ts: string, service: string | null, instance: string | null, status: number,
 *             outcome: string, attempts: number, tried: string[], failures: string[], latencyMs: number,
 *             upstreamLatencyMs: number | null, weight: number }} RequestLine
 * @typedef {{ event: "health_transition" | "ejection" | "lease_expired", ts: string, service: string, instance: string }} CoordinatorLine
 * @typedef {RequestLine | CoordinatorLine} EventLine
 */

const COORDINATOR_EVENTS = new Set(["health_transition", "ejection", "lease_expired"]);

/**
 * The event version this reader knows. A later version may rename a field or change its meaning
 * (docs/analytics.md), so its lines are counted apart (`unknownVersion`), never read as this one.
 */
const KNOWN_VERSION = 1;

/**
 * @param {unknown} v
 * @returns {v is Record<string, unknown>}
 */
function isObject(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** @param {unknown} v */
const isStringArray = (v) => Array.isArray(v) && v.every((x) => typeof x === "string");
/** @param {unknown} v */
const isNullableString = (v) => v === null || typeof v === "string";

/**
 * A request or coordinator event with the fields the report needs, or null.
 * Lines without `v` are the unversioned lines from before version 1: same names, fewer fields.
 * @param {Record<string, unknown>} o
 * @returns {EventLine | null}
 */
function asEvent(o) {
  const { event } = o;
  if (typeof o.ts !== "string") return null;
  if (event === "request") {
    if (!isNullableString(o.service) || !isNullableString(o.instance)) return null;
    if (typeof o.status !== "number" || typeof o.outcome !== "string" || !isLatency(o.latencyMs)) return null;
    if (typeof o.attempts !== "number" || !isStringArray(o.tried) || !isStringArray(o.failures)) return null;
    // Set on the parsed object itself: a copy of every field per event would cost more than the checks.
    if (typeof o.upstreamLatencyMs !== "number") o.upstreamLatencyMs = null;
    else if (!isLatency(o.upstreamLatencyMs)) return null;
    // A line from before `weight` stands for one request; one that carries it must carry a real one.
    if (o.weight === undefined) o.weight = 1;
    else if (!isWeight(o.weight)) return null;
    return /** @type {RequestLine} */ (o);
  }
  if (typeof event === "string" && COORDINATOR_EVENTS.has(event)) {
    if (typeof o.service !== "string" || typeof o.instance !== "string") return null;
    return /** @type {CoordinatorLine} */ (o);
  }
  return null;
}

/**
 * What one line held: its events, how many of the mesh events in it were
 * malformed, how many were of an event version this reader does not know, and
 * whether it held none of these. Lines that are neither (another Worker's
 * record, a log message that is not the mesh's) are `other`: not an error,
 * and not counted as one.
 * @typedef {{ events: EventLine[], malformed: number, unknownVersion: number, other: boolean }} Extracted
 */

/** What fromMessage found besides events. @typedef {{ malformed: number, unknownVersion: number }} Skipped */

/** @param {EventLine[]} events @param {Skipped} skipped @returns {Extracted} */
const extracted = (events, skipped) => ({
  events,
  malformed: skipped.malformed,
  unknownVersion: skipped.unknownVersion,
  other: events.length === 0 && skipped.malformed === 0 && skipped.unknownVersion === 0,
});

/**
 * A mesh event object (its `event` already checked) into `events`, or counted in `skipped`.
 * @param {Record<string, unknown>} o
 * @param {EventLine[]} events
 * @param {Skipped} skipped
 */
function fromObject(o, events, skipped) {
  // Lines without `v` are from before versioning (version 1's names); any other `v` is not ours to read.
  if (o.v !== undefined && o.v !== KNOWN_VERSION) {
    skipped.unknownVersion++;
    return;
  }
  const e = asEvent(o);
  if (e === null) skipped.malformed++;
  else events.push(e);
}

/**
 * @param {unknown} message
 * @param {EventLine[]} events
 * @param {Skipped} skipped  counted into when the message claimed to be a mesh event but was not whole, or not version 1
 */
function fromMessage(message, events, skipped) {
  if (typeof message !== "string" || message.charCodeAt(0) !== 123 /* { */) return;
  /** @type {unknown} */
  let o;
  try {
    o = JSON.parse(message);
  } catch {
    return; // someone's console.log of a brace, not a mesh line
  }
  if (!isObject(o) || typeof o.event !== "string") return;
  if (o.event !== "request" && !COORDINATOR_EVENTS.has(o.event)) return; // the mesh's operational lines (sweep, ...)
  fromObject(o, events, skipped);
}

// The two keys the quick path looks for, each searched for without its
// opening quote (keyAt): a record has dozens of `"` before its Logs and every
// quote of the escaped event is one, so a search that starts on `"` stops at
// each of them, while `L` and `M` are rare. That search alone took about as
// long as parsing the Message array (measured with logs:bench's records).
const LOGS = 'Logs":[';
const MESSAGE = 'Message":[';

/**
 * Where `"` + key first occurs in `line` at or after `from`, or -1: the same
 * answer as `line.indexOf('"' + key, from)`, found faster (see LOGS).
 * @param {string} line
 * @param {string} key  starts with a character that is rare in a record
 * @param {number} from
 */
function keyAt(line, key, from) {
  let at = line.indexOf(key, from + 1);
  while (at !== -1 && line.charCodeAt(at - 1) !== 34 /* " */) at = line.indexOf(key, at + 1);
  return at === -1 ? -1 : at - 1;
}

/**
 * The strings of the JSON array of strings starting at `line[from]` (its
 * first quote) and the index after its `]`, or null when it is not simply
 * that. The end is found as the first `"]` not escaped (an escaped quote has
 * an odd run of backslashes before it), far fewer candidates than every
 * quote. It is searched for by its `]`, which in an event is rare (the ends of
 * `tried` and `failures`), not by its `"`, which is everywhere. The array
 * alone is then one JSON.parse of flat string literals, which V8 does several
 * times faster than it parses the record around them.
 * @param {string} line
 * @param {number} from
 * @returns {{ values: unknown[], end: number } | null}
 */
function stringsAt(line, from) {
  // q: the quote of the `"]` candidate; the first one can be at from + 1, its `]` at from + 2.
  let q = line.indexOf("]", from + 2) - 1;
  while (q !== -2) {
    if (line.charCodeAt(q) === 34 /* " */) {
      let slashes = 0;
      for (let k = q - 1; line.charCodeAt(k) === 92; k--) slashes++;
      if ((slashes & 1) === 0) break;
    }
    q = line.indexOf("]", q + 2) - 1;
  }
  if (q === -2) return null;
  try {
    /** @type {unknown} */
    const values = JSON.parse(line.slice(from - 1, q + 2));
    return Array.isArray(values) ? { values, end: q + 2 } : null;
  } catch {
    return null;
  }
}

/**
 * The quick path for a Workers Trace Events record: its `Logs[].Message[]`
 * strings are cut out of the line without materialising the record (whose
 * parse costs as much as the event's own). Returns null whenever the line is
 * not laid out as expected (a message that is not a string, an unterminated
 * string), and the caller parses the line in full instead, so an odd but valid
 * record is read all the same and a broken one is counted as malformed.
 * @param {string} line
 * @param {number} logs  where the record's `Logs` array starts: the messages are looked for from there on
 * @param {EventLine[]} events
 * @param {Skipped} skipped  malformed and unknown-version mesh messages are counted into it
 * @returns {boolean} false to take the full path
 */
function quickRecord(line, logs, events, skipped) {
  let at = keyAt(line, MESSAGE, logs);
  while (at !== -1) {
    const i = at + 1 + MESSAGE.length;
    let end = i + 1;
    const request = line.charCodeAt(i) === 34 /* " */ ? requestAt(line, i + 1, events) : -1;
    if (request !== -1) {
      end = request;
    } else if (line.charCodeAt(i) === 34) {
      const strings = stringsAt(line, i);
      if (strings === null) return false;
      for (const m of strings.values) fromMessage(m, events, skipped);
      end = strings.end;
    } else if (line.charCodeAt(i) !== 93 /* ] */) {
      return false;
    }
    at = keyAt(line, MESSAGE, end);
  }
  return true;
}

/**
 * @param {string} line
 * @returns {Extracted}
 */
export function extract(line) {
  /** @type {EventLine[]} */
  const events = [];
  // A record is a whole object on one line; a line cut short (or with junk at either end) takes the full path and fails there.
  if (line.charCodeAt(0) === 123 && line.charCodeAt(line.length - 1) === 125) {
    const logs = keyAt(line, LOGS, 0);
    if (logs !== -1) {
      const skipped = { malformed: 0, unknownVersion: 0 };
      if (quickRecord(line, logs + 1 + LOGS.length, events, skipped)) return extracted(events, skipped);
    }
  } else if (line.trim() === "") return { events, malformed: 0, unknownVersion: 0, other: true };
  return extractParsed(line);
}

/**
 * The line read with one JSON.parse of all of it: the path for every line the
 * quick one does not take, and what the quick one must agree with on every
 * record that parses (test/unit/logs-report/extract.test.ts holds it to that).
 * @param {string} line
 * @returns {Extracted}
 */
export function extractParsed(line) {
  /** @type {EventLine[]} */
  const events = [];
  /** @type {unknown} */
  let o;
  try {
    o = JSON.parse(line);
  } catch {
    return { events, malformed: 1, unknownVersion: 0, other: false };
  }
  if (!isObject(o)) return { events, malformed: 1, unknownVersion: 0, other: false };
  const skipped = { malformed: 0, unknownVersion: 0 };
  if (Array.isArray(o.Logs)) {
    for (const log of o.Logs) {
      if (!isObject(log) || !Array.isArray(log.Message)) continue;
      for (const m of log.Message) fromMessage(m, events, skipped);
    }
    return extracted(events, skipped);
  }
  if (typeof o.event === "string" && (o.event === "request" || COORDINATOR_EVENTS.has(o.event))) {
    fromObject(o, events, skipped);
    return extracted(events, skipped);
  }
  return { events, malformed: 0, unknownVersion: 0, other: true };
}
