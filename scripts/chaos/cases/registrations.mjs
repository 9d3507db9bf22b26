// @ts-check
// Hostile registrations and service configs against a mesh that runs as
// production does (ALLOW_PRIVATE_ORIGINS off). Every generated case
// (model/hostile.mjs) is sent once; the answer, and for a 2xx the stored
// object read back, decide whether it was refused, neutralised or accepted.
import { classifyHostile, controlCases, hostileCases } from "../model/hostile.mjs";
import { judgeAll } from "../model/report.mjs";
import { ADMIN_TOKEN, call, createService, parseJson, view } from "../mesh.mjs";

const GROUP = "Hostile registrations and configs (ALLOW_PRIVATE_ORIGINS off)";
const SERVICE = "hostile";

/** @typedef {import("../model/hostile.mjs").HostileCase} HostileCase */
/** @typedef {import("../model/hostile.mjs").HostileOutcome} HostileOutcome */

/**
 * Sends one case; returns the status (null: no answer) and, after a 2xx, the stored object as JSON text.
 * @param {import("../mesh.mjs").Mesh} mesh @param {string} token @param {HostileCase} c @param {number} i
 * @returns {Promise<{ status: number | null, readback: string | null }>}
 */
async function send(mesh, token, c, i) {
  try {
    return await sendOnce(mesh, token, c, i);
  } catch (err) {
    // A connection that broke before any answer (Node's pooled keep-alive socket
    // closing under the request, seen once on a loaded machine) is tried once
    // more: every case is idempotent (same URL, same id; PUT replaces). A
    // timeout is not retried, and a second failure counts as no answer.
    if (err instanceof Error && err.name === "TimeoutError") return { status: null, readback: null };
    try {
      return await sendOnce(mesh, token, c, i);
    } catch {
      return { status: null, readback: null };
    }
  }
}

/**
 * @param {import("../mesh.mjs").Mesh} mesh @param {string} token @param {HostileCase} c @param {number} i
 * @returns {Promise<{ status: number | null, readback: string | null }>}
 */
async function sendOnce(mesh, token, c, i) {
  if (c.target === "instance") {
    const r = await call(mesh, "POST", `/_mesh/v1/services/${SERVICE}/instances`, { body: c.body, token, ...(c.contentType === undefined ? {} : { contentType: c.contentType }) });
    if (r.status < 200 || r.status >= 300) return { status: r.status, readback: null };
    const id = /** @type {{ id?: unknown } | null} */ (parseJson(r.text))?.id;
    const v = await view(mesh, SERVICE);
    const inst = v?.instances.find((x) => x.id === id);
    return { status: r.status, readback: inst === undefined ? null : JSON.stringify(inst) };
  }
  const name = c.service ?? `h${i}`;
  const r = await call(mesh, "PUT", `/_mesh/v1/services/${name}`, { body: c.body, token: ADMIN_TOKEN, ...(c.contentType === undefined ? {} : { contentType: c.contentType }) });
  if (r.status < 200 || r.status >= 300) return { status: r.status, readback: null };
  const back = await call(mesh, "GET", `/_mesh/v1/services/${name}`);
  // Free the route again, so the next config case is judged on its own field, not a route conflict.
  await call(mesh, "DELETE", `/_mesh/v1/services/${name}`);
  return { status: r.status, readback: back.status === 200 ? back.text : null };
}

/**
 * @param {import("../mesh.mjs").Mesh} mesh
 * @param {{ limit?: number, log?: (line: string) => void }} [opts] limit: only the first n cases of each category (the fast e2e subset)
 * @returns {Promise<import("../model/report.mjs").Row[]>}
 */
export async function runRegistrations(mesh, { limit, log = () => undefined } = {}) {
  const token = await createService(mesh, SERVICE, { routes: { pathPrefixes: [`/${SERVICE}`] } });
  /** @type {Map<string, number>} */
  const perCategory = new Map();
  const cases = hostileCases().filter((c) => {
    const n = (perCategory.get(c.category) ?? 0) + 1;
    perCategory.set(c.category, n);
    return limit === undefined || n <= limit;
  });
  const started = Date.now();
  /** @type {{ c: HostileCase, outcome: HostileOutcome, status: number | null }[]} */
  const results = [];
  // Sequential: a config case creates and deletes a service under a shared route.
  for (const [i, c] of cases.entries()) {
    const seen = await send(mesh, token, c, i);
    results.push({ c, outcome: classifyHostile(c, seen), status: seen.status });
  }
  const ms = Date.now() - started;
  /** @type {import("../model/report.mjs").Row[]} */
  const rows = [];
  /** @type {string[]} */
  const categories = [];
  for (const r of results) if (!categories.includes(r.c.category)) categories.push(r.c.category);
  for (const cat of categories) {
    const mine = results.filter((r) => r.c.category === cat);
    rows.push(summaryRow(cat, mine));
  }
  const all = summaryRow("all hostile registrations and configs", results);
  all.result += `; ${(ms / 1000).toFixed(1)} s`;
  rows.push(all);

  // Controls: valid registrations must still be accepted, or the rows above prove nothing.
  const controls = controlCases();
  let accepted = 0;
  /** @type {string[]} */
  const refused = [];
  for (const [i, c] of controls.entries()) {
    const seen = await send(mesh, token, c, i);
    if (seen.status !== null && seen.status >= 200 && seen.status < 300) accepted++;
    else refused.push(`${c.id} → ${seen.status ?? "no answer"}`);
  }
  rows.push({
    group: GROUP,
    name: "controls: valid registrations (public name, documentation IP, 926-byte URL, every field, public IDN)",
    traffic: `${controls.length} POST instance`,
    result: `${accepted}/${controls.length} accepted${refused.length > 0 ? `; refused: ${refused.join(", ")}` : ""}`,
    target: "all accepted (the guard is not a wall)",
    verdict: judgeAll([controls.length - accepted]),
  });
  log(`  registrations: ${cases.length} cases in ${ms} ms; ${rows.map((r) => r.verdict).join(", ")}`);
  return rows;
}

/**
 * @param {string} name
 * @param {{ c: HostileCase, outcome: HostileOutcome, status: number | null }[]} mine
 * @returns {import("../model/report.mjs").Row}
 */
function summaryRow(name, mine) {
  /** @type {Record<HostileOutcome, number>} */
  const n = { refused: 0, neutralised: 0, accepted: 0, "server-error": 0, "no-answer": 0 };
  for (const r of mine) n[r.outcome]++;
  const bad = mine.filter((r) => r.outcome === "accepted" || r.outcome === "server-error" || r.outcome === "no-answer");
  const named = bad.slice(0, 6).map((r) => `${r.c.id} → ${r.status ?? "no answer"}`);
  const instances = mine.filter((r) => r.c.target === "instance").length;
  return {
    group: GROUP,
    name,
    traffic: `${mine.length} requests (${instances} POST instance, ${mine.length - instances} PUT service)`,
    result:
      `${n.refused} refused (4xx), ${n.neutralised} accepted with the hostile part dropped, ${n.accepted} accepted, ${n["server-error"]} 5xx, ${n["no-answer"]} no answer` +
      (named.length > 0 ? `; e.g. ${named.join(", ")}${bad.length > named.length ? ", …" : ""}` : ""),
    target: "0 accepted, 0 5xx",
    verdict: judgeAll([n.accepted, n["server-error"] + n["no-answer"]]),
  };
}
