// @ts-check
// Rows of the fault and abuse matrix, their verdicts, and the markdown that
// docs/reliability.md is made of. Pure: the runner measures, this only judges
// and renders, so a unit test can pin what a miss or an absent feature looks like.

/**
 * @typedef {"met" | "missed" | "not available in this build" | "not measured"} Verdict
 * @typedef {{ group: string, name: string, traffic: string, result: string, target: string, verdict: Verdict }} Row
 */

export const NOT_AVAILABLE = "not available in this build";

/**
 * Why a chunked answer cut after its headers are out ends cleanly, measured
 * and traced to workerd's code (issue 13 asked for the native route to be
 * tried first), and what the mesh does about it: the read-ahead that makes
 * the "reset mid-body (chunked)" row, whose cut comes 20 ms in, a failover.
 * Rendered after the tables on every run, since a run cannot show the code.
 */
export const CHUNKED_TRUNCATION_NOTE = [
  "## Why a chunked answer cut after its headers still ends cleanly, and the read-ahead",
  "",
  "A Worker cannot make workerd abort an unsized (chunked) response once its headers are out; it can only error the body stream, and workerd then ends the response with a clean last chunk (cloudflare/workerd#6818). Measured with workerd 2026-04-26 (wrangler 4.86), both under Miniflare and as a bare `workerd serve` with no entry Worker in front, by a raw-socket client against an origin that sends a chunked 200, one chunk and then closes: returning fetch's `Response` as is, re-wrapping its native body in a new `Response`, piping it into an `IdentityTransformStream` with `pipeTo` (the pipe rejects with `Network connection lost.`), `pipeThrough` an `IdentityTransformStream`, a `tee()` branch, and a JavaScript `ReadableStream` that errors: all six sent `8\\r\\npartial-\\r\\n0\\r\\n\\r\\n`, the terminating chunk of a complete message.",
  "",
  "The code path: `Response::send` (`src/workerd/api/http.c++`) opens the response with `outer.send(status, text, headers, maybeLength)` and pumps the body into it with `jsBody.pumpTo(js, newSystemStream(...), EndStream::YES)`. Without a length, KJ's HTTP server hands back an `HttpChunkedEntityWriter`. When the pump fails, `EncodedAsyncOutputStream::abort()` (`src/workerd/api/system-streams.c++`) calls `abortWrite()` on that writer and drops it (`inner.init<Ended>()`). Neither `HttpChunkedEntityWriter` nor its base `HttpEntityBodyWriter` overrides `abortWrite()`, and `~HttpChunkedEntityWriter()` (capnproto, `c++/src/kj/compat/http.c++`) writes `0\\r\\n\\r\\n` and finishes the body whenever the connection can still take body data, with no way to tell an error from the end. A sized body is different: `HttpFixedLengthEntityWriter` dropped short of its length runs `~HttpEntityBodyWriter()`, which calls `abortBody()`, so the connection is cut; that is why the Content-Length row is met and why the mesh keeps every answer's Content-Length.",
  "",
  "So the fix belongs in workerd/KJ (a body writer aborted with an error must abort the connection, not end the message). Until then the mesh keeps the headers back while it can: it reads every unsized answer ahead for up to `retry.readAheadMs` (100 ms by default) and 64 KiB before relaying it (`src/edge/proxy/read-ahead.ts`). A body cut in that window has sent the client nothing, so a GET fails over to another origin (the chunked row above, cut 20 ms after its first chunk) and a request with no retry left gets `502 upstream_unavailable` instead of a `200` that looks complete. A cut after the window (a long or slow stream, an event stream, an answer with `X-Accel-Buffering: no`) still ends cleanly: the origin is blamed for it (marked down in the isolate, reported to its coordinator), the `upstream_body_failed` line is logged, and a client that must detect truncation of such an answer needs an end-to-end check of its own (a length or digest in the payload). Cloudflare's edge puts its own HTTP proxy in front of workerd; whether it passes the clean end on was not measured here.",
];

/**
 * A zero-tolerance target ("0 client errors"): met only when the count was
 * measured and is at most `limit`; null means nothing was measured.
 * @param {number | null} count
 * @param {number} [limit]
 * @returns {Verdict}
 */
export function judgeCount(count, limit = 0) {
  if (count === null || !Number.isFinite(count)) return "not measured";
  return count <= limit ? "met" : "missed";
}

/**
 * Several zero targets on one row: missed if any is missed, not measured if any
 * could not be measured and none is missed.
 * @param {(number | null)[]} counts
 * @returns {Verdict}
 */
export function judgeAll(counts) {
  const verdicts = counts.map((c) => judgeCount(c));
  if (verdicts.includes("missed")) return "missed";
  if (verdicts.includes("not measured")) return "not measured";
  return "met";
}

/** @param {string} text */
const cell = (text) => text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");

/**
 * @param {Row[]} rows
 * @returns {Record<Verdict, number>}
 */
export function tally(rows) {
  /** @type {Record<Verdict, number>} */
  const t = { met: 0, missed: 0, [NOT_AVAILABLE]: 0, "not measured": 0 };
  for (const r of rows) t[r.verdict]++;
  return t;
}

/**
 * docs/reliability.md from one run.
 * @param {{ commit: string, dirty: boolean, date: string, durationMs: number, rows: Row[], notes: string[] }} run
 * @returns {string}
 */
export function renderReport({ commit, dirty, date, durationMs, rows, notes }) {
  const t = tally(rows);
  const lines = [
    "# Reliability: the fault and abuse matrix",
    "",
    "<!-- Generated by `npm run chaos` (scripts/chaos/run.mjs). Do not edit by hand: re-run it. -->",
    "",
    `Generated by \`npm run chaos\` at commit \`${commit}\`${dirty ? " (with uncommitted changes)" : ""} on ${date}; the run took ${(durationMs / 1000).toFixed(1)} s.`,
    "Every number below was measured in that run, against the bundled mesh in Miniflare and real origins and clients on 127.0.0.1.",
    "",
    `**${t.met} met, ${t.missed} missed, ${t[NOT_AVAILABLE]} not available in this build, ${t["not measured"]} not measured** (of ${rows.length} rows).`,
    "",
  ];
  if (notes.length > 0) {
    lines.push("How the run was set up:", "");
    for (const n of notes) lines.push(`- ${n}`);
    lines.push("");
  }
  /** @type {string[]} */
  const groups = [];
  for (const r of rows) if (!groups.includes(r.group)) groups.push(r.group);
  for (const g of groups) {
    lines.push(`## ${g}`, "", "| case | traffic sent | result | target | verdict |", "|---|---|---|---|---|");
    for (const r of rows.filter((x) => x.group === g)) {
      const verdict = r.verdict === "missed" ? "**missed**" : r.verdict;
      lines.push(`| ${cell(r.name)} | ${cell(r.traffic)} | ${cell(r.result)} | ${cell(r.target)} | ${verdict} |`);
    }
    lines.push("");
  }
  lines.push(...CHUNKED_TRUNCATION_NOTE, "");
  return lines.join("\n");
}
