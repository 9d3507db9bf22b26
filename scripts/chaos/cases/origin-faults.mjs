// @ts-check
// Origin faults: one of three origins misbehaves (killed, hung, reset at some
// byte, slow, flaky, flapping, chatty, huge) while clients send bounded traffic
// through the mesh. Each case gets a fresh service and three fresh raw origins,
// so one case's ejections cannot colour the next.
import { createFaultOrigin } from "../net/fault-origin.mjs";
import { exchange, load } from "../net/client.mjs";
import { classifyExchange, duplicateBodies, formatStatuses, summarise } from "../model/outcomes.mjs";
import { judgeAll } from "../model/report.mjs";
import { createService, register, until } from "../mesh.mjs";

const GROUP = "Origin faults (1 of 3 origins, ALLOW_PRIVATE_ORIGINS on)";

/** Fast detection and short tries, so a bounded run sees the mesh react. */
const SERVICE_CONFIG = {
  healthCheck: { intervalSeconds: 1, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 2 },
  retry: { attempts: 3, perTryTimeoutMs: 1000 },
};

/**
 * @typedef {import("../net/fault-origin.mjs").FaultMode} FaultMode
 * @typedef {{ id: string, name: string, mode: FaultMode, health?: boolean, total: number, concurrency: number,
 *   method?: "GET" | "POST", faultAt?: number, flapMs?: number, timeoutMs?: number, paceMs?: number, dns?: boolean,
 *   targets: ("errors" | "truncation" | "duplicates")[], note: string }} FaultCase
 */

/** @type {FaultCase[]} */
export const FAULT_CASES = [
  { id: "kill", name: "origin killed mid-run (port closed)", mode: "refuse", health: true, total: 60, concurrency: 4, faultAt: 10, targets: ["errors", "truncation"], note: "killed after request 10" },
  { id: "hang", name: "origin hangs before headers", mode: "hang", health: true, total: 45, concurrency: 4, targets: ["errors", "truncation"], note: "hung from the start" },
  { id: "reset", name: "origin resets before headers", mode: "reset-before-headers", health: true, total: 45, concurrency: 4, targets: ["errors", "truncation"], note: "every request reset" },
  { id: "refuse", name: "origin refuses (down from the start)", mode: "refuse", health: true, total: 45, concurrency: 4, targets: ["errors", "truncation"], note: "port closed before traffic" },
  { id: "rst-cl", name: "reset mid-body (Content-Length)", mode: "reset-mid-body-cl", total: 30, concurrency: 3, targets: ["truncation"], note: "8 KiB of a declared 64 KiB, then RST" },
  { id: "rst-chunked", name: "reset mid-body (chunked)", mode: "reset-mid-body-chunked", total: 30, concurrency: 3, targets: ["truncation"], note: "one 8 KiB chunk, then RST" },
  { id: "stall", name: "part of a body, then hang", mode: "partial-then-hang", total: 12, concurrency: 3, timeoutMs: 4000, targets: ["truncation"], note: "8 KiB of 64 KiB, then silence; client deadline 4 s" },
  { id: "drip", name: "slow drip (1,000 B over 1 s)", mode: "drip", total: 24, concurrency: 4, targets: ["errors", "truncation"], note: "50 B every 50 ms" },
  { id: "5xx", name: "503 on every 3rd request", mode: "status-rate", total: 60, concurrency: 4, targets: ["errors", "truncation"], note: "victim answers 503 to 1 in 3" },
  { id: "flap", name: "origin flaps every 1 s", mode: "ok", flapMs: 1000, paceMs: 200, total: 80, concurrency: 4, targets: ["errors", "truncation"], note: "port closed/reopened every 1 s; 4 lanes, 200 ms apart (about 4 s)" },
  { id: "continue", name: "origin sends 100 Continue first", mode: "continue", total: 30, concurrency: 3, targets: ["errors", "truncation"], note: "interim 100 then 200" },
  { id: "big", name: "10 MB response body", mode: "big", total: 9, concurrency: 3, timeoutMs: 30_000, targets: ["errors", "truncation"], note: "10 MiB, SHA-256 checked" },
  { id: "post-reset", name: "POST through an origin that resets", mode: "reset-before-headers", total: 30, concurrency: 3, method: "POST", targets: ["duplicates"], note: "unique bodies; reset after the body is read" },
  { id: "post-hang", name: "POST through an origin that hangs", mode: "hang", total: 15, concurrency: 3, method: "POST", targets: ["duplicates"], note: "unique bodies; no answer after the body" },
  { id: "dns", name: "origin name does not resolve (.invalid)", mode: "ok", dns: true, total: 45, concurrency: 3, targets: ["errors", "truncation"], note: "victim registered as an RFC 6761 .invalid name" },
  { id: "post-dns", name: "POST to an origin whose name does not resolve", mode: "ok", dns: true, total: 30, concurrency: 3, method: "POST", targets: ["errors", "duplicates"], note: "unique bodies; a DNS failure never reached any origin, so a retry is safe" },
  { id: "post-5xx", name: "POST through 503 on every 3rd", mode: "status-rate", total: 30, concurrency: 3, method: "POST", targets: ["duplicates"], note: "unique bodies" },
];

/**
 * @param {import("../mesh.mjs").Mesh} mesh
 * @param {FaultCase} c
 * @returns {Promise<import("../model/report.mjs").Row>}
 */
export async function runFaultCase(mesh, c) {
  const origins = [createFaultOrigin(`${c.id}-a`), createFaultOrigin(`${c.id}-b`), createFaultOrigin(`${c.id}-victim`)];
  const victim = origins[2];
  if (victim === undefined) throw new Error("no victim");
  const service = `fault-${c.id}`;
  const url = `${mesh.url}/${service}/item`;
  try {
    await Promise.all(origins.map((o) => o.start()));
    const token = await createService(mesh, service, { routes: { pathPrefixes: [`/${service}`] }, ...SERVICE_CONFIG });
    // A name under .invalid never resolves (RFC 6761 §6.4): the victim is the name, not a process.
    const victimUrl = c.dns === true ? `http://chaos-${c.id}.invalid:8080` : victim.url;
    for (const o of origins) await register(mesh, service, token, o === victim ? victimUrl : o.url);
    // Traffic starts only once the router routes to every origin that can answer, so the fault, not a cold route, is measured.
    const reachable = c.dns === true ? 2 : 3;
    const warm = await until(15_000, async () => {
      const probe = await load(url, { total: 6, concurrency: 1, timeoutMs: 3000 });
      return new Set(probe.map((e) => e.origin).filter((o) => o !== null)).size === reachable;
    });
    if (!warm) return row(c, "not measured", `the router never spread traffic over ${reachable} origins within 15 s`);
    const seenBefore = victim.seen.length;
    if (c.faultAt === undefined) await victim.setMode(c.mode, { health: c.health ?? false });
    if (c.flapMs !== undefined) victim.flap(c.flapMs);
    const started = Date.now();
    const method = c.method ?? "GET";
    /** @type {Set<string>} */
    const bodies = new Set();
    const { createHash } = await import("node:crypto");
    const results = await load(url, {
      total: c.total,
      concurrency: c.concurrency,
      timeoutMs: c.timeoutMs ?? 10_000,
      paceMs: c.paceMs ?? 0,
      method,
      ...(method === "POST"
        ? {
            body: (i) => {
              const b = JSON.stringify({ chaos: c.id, n: i, at: started });
              bodies.add(createHash("sha256").update(b).digest("hex"));
              return b;
            },
          }
        : {}),
      hook: async (i) => {
        if (c.faultAt !== undefined && i === c.faultAt) await victim.setMode(c.mode, { health: c.health ?? false });
      },
    });
    const ms = Date.now() - started;
    const s = summarise(results);
    const truncated = s.outcomes["silent-truncation"] + s.outcomes["corrupt-body"];
    const received = origins.flatMap((o) => o.seen.filter((r) => r.method === "POST").map((r) => r.body)).map((b) => createHash("sha256").update(b).digest("hex"));
    const dupes = duplicateBodies(received, bodies);
    const victimGot = victim.seen.slice(seenBefore).filter((r) => r.path !== "/healthz").length;
    /** @type {(number | null)[]} */
    const judged = [];
    /** @type {string[]} */
    const result = [];
    /** @type {string[]} */
    const target = [];
    if (c.targets.includes("errors")) {
      judged.push(s.clientErrors);
      target.push("0 client errors");
    }
    result.push(`${s.clientErrors} client errors (${formatStatuses(s.statuses)}; ${s.outcomes["failed-in-body"]} failed mid-body, ${s.outcomes["failed-before-headers"]} with no answer)`);
    if (c.targets.includes("truncation")) {
      judged.push(truncated);
      target.push("0 silently truncated");
    }
    result.push(`${truncated} silently truncated or corrupt`);
    if (c.targets.includes("duplicates")) {
      judged.push(dupes);
      target.push("0 POST bodies sent twice");
      result.push(`${dupes} bodies reached origins twice (${received.filter((h) => bodies.has(h)).length} deliveries of ${bodies.size} bodies)`);
    }
    result.push(`${c.dns === true ? "" : `victim got ${victimGot} requests; `}${(ms / 1000).toFixed(1)} s`);
    return {
      group: GROUP,
      name: c.name,
      traffic: `${c.total} ${method}, ${c.concurrency} concurrent; ${c.note}`,
      result: result.join("; "),
      target: target.join(", "),
      verdict: judgeAll(judged),
    };
  } finally {
    await Promise.all(origins.map((o) => o.stop()));
  }
}

/**
 * @param {FaultCase} c
 * @param {"not measured"} verdict
 * @param {string} why
 * @returns {import("../model/report.mjs").Row}
 */
function row(c, verdict, why) {
  return { group: GROUP, name: c.name, traffic: `${c.total} ${c.method ?? "GET"}; ${c.note}`, result: why, target: "", verdict };
}

/**
 * The detector's own check, with no mesh in between: an origin that ends a cut
 * chunked body cleanly must be seen as a silent truncation, or a "0 silently
 * truncated" row would prove nothing.
 * @returns {Promise<import("../model/report.mjs").Row>}
 */
export async function detectorSelfCheck() {
  const origin = createFaultOrigin("self-check");
  await origin.start();
  try {
    await origin.setMode("clean-truncation");
    let detected = 0;
    const total = 5;
    for (let i = 0; i < total; i++) {
      if (classifyExchange(await exchange(`${origin.url}/cut`, { timeoutMs: 5000 })) === "silent-truncation") detected++;
    }
    return {
      group: GROUP,
      name: "harness self-check: a cleanly ended cut body, straight from the origin",
      traffic: `${total} GET to the origin directly (no mesh)`,
      result: `${detected}/${total} detected as silent truncation`,
      target: "all detected",
      verdict: judgeAll([total - detected]),
    };
  } finally {
    await origin.stop();
  }
}

/**
 * Every origin-fault case, one after another (they share the mesh, not origins).
 * @param {import("../mesh.mjs").Mesh} mesh
 * @param {{ only?: string[], log?: (line: string) => void }} [opts]
 * @returns {Promise<import("../model/report.mjs").Row[]>}
 */
export async function runOriginFaults(mesh, { only, log = () => undefined } = {}) {
  /** @type {import("../model/report.mjs").Row[]} */
  const rows = only === undefined ? [await detectorSelfCheck()] : [];
  for (const c of FAULT_CASES) {
    if (only !== undefined && !only.includes(c.id)) continue;
    try {
      const r = await runFaultCase(mesh, c);
      log(`  ${c.id}: ${r.verdict} — ${r.result}`);
      rows.push(r);
    } catch (err) {
      rows.push(row(c, "not measured", `harness error: ${err instanceof Error ? err.message : String(err)}`));
    }
  }
  return rows;
}
