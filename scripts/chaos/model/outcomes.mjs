// @ts-check
// What one client exchange through the mesh amounts to. A body is judged
// against what its origin declared in `x-chaos-body-bytes` / `x-chaos-sha256`
// (headers the mesh passes through), not against the framing the client saw:
// a proxy that re-frames a cut body as a clean chunked end would otherwise
// look like a success.

/**
 * @typedef {{ status: number | null, error: string | null, phase: "headers" | "body" | null,
 *   receivedBytes: number, declaredBytes: number | null, declaredSha: string | null, receivedSha: string | null }} Exchange
 * @typedef {"ok" | "error-status" | "failed-before-headers" | "failed-in-body" | "silent-truncation" | "corrupt-body"} ExchangeOutcome
 */

/**
 * @param {Exchange} e
 * @returns {ExchangeOutcome}
 */
export function classifyExchange(e) {
  if (e.status === null) return "failed-before-headers";
  if (e.error !== null) return "failed-in-body";
  if (e.declaredBytes !== null && e.receivedBytes !== e.declaredBytes) {
    return e.receivedBytes < e.declaredBytes ? "silent-truncation" : "corrupt-body";
  }
  if (e.declaredSha !== null && e.receivedSha !== null && e.declaredSha !== e.receivedSha) return "corrupt-body";
  if (e.status >= 400) return "error-status";
  return "ok";
}

/**
 * Counts per outcome, plus the status codes seen.
 * @param {Exchange[]} exchanges
 * @returns {{ outcomes: Record<ExchangeOutcome, number>, statuses: Map<string, number>, clientErrors: number, total: number }}
 */
export function summarise(exchanges) {
  /** @type {Record<ExchangeOutcome, number>} */
  const outcomes = { ok: 0, "error-status": 0, "failed-before-headers": 0, "failed-in-body": 0, "silent-truncation": 0, "corrupt-body": 0 };
  /** @type {Map<string, number>} */
  const statuses = new Map();
  for (const e of exchanges) {
    outcomes[classifyExchange(e)]++;
    const key = e.status === null ? "no answer" : String(e.status);
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
  }
  const clientErrors = exchanges.length - outcomes.ok;
  return { outcomes, statuses, clientErrors, total: exchanges.length };
}

/**
 * "200×57, 502×3" style, most frequent first.
 * @param {Map<string, number>} statuses
 * @returns {string}
 */
export function formatStatuses(statuses) {
  return [...statuses.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([s, n]) => `${s}×${n}`)
    .join(", ");
}

/**
 * How many request bodies reached origins more than once, given every body
 * digest the origins recorded. `expected` restricts the count to bodies the
 * case sent (health probes and other traffic have empty or other bodies).
 * @param {string[]} receivedShas
 * @param {Set<string>} expected
 * @returns {number}
 */
export function duplicateBodies(receivedShas, expected) {
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const s of receivedShas) if (expected.has(s)) counts.set(s, (counts.get(s) ?? 0) + 1);
  let dup = 0;
  for (const n of counts.values()) if (n > 1) dup++;
  return dup;
}
