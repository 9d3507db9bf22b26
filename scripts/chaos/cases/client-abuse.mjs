// @ts-check
// Abusive clients on raw sockets against three healthy origins: aborted
// uploads, lying lengths, Expect: 100-continue, forged mesh and forwarding
// headers, hop-by-hop headers and malformed requests. What is measured is what
// reached the origins, what the client got back, and whether any healthy
// origin paid for it (ejected or marked unhealthy).
import { createFaultOrigin } from "../net/fault-origin.mjs";
import { load, rawExchange } from "../net/client.mjs";
import { formatStatuses, summarise } from "../model/outcomes.mjs";
import { judgeAll, judgeCount } from "../model/report.mjs";
import { createService, register, until, view } from "../mesh.mjs";

const GROUP = "Abusive clients (raw sockets, 3 healthy origins)";
const SERVICE = "abuse";
const PREFIX = `/${SERVICE}`;

/** @typedef {import("../model/report.mjs").Row} Row */
/** @typedef {import("../net/client.mjs").RawStep} RawStep */

/** Forged values no origin may receive as if the mesh had set them. */
const FORGED = {
  "x-mesh-instance": "forged-instance",
  "x-mesh-attempts": "99",
  "x-mesh-signature": "t=1,v1=forged",
  "x-mesh-content-sha256": "forged",
  "x-mesh-claims": "eyJzdWIiOiJhZG1pbiJ9",
  "x-forwarded-host": "evil.example",
  "x-forwarded-proto": "gopher",
  "x-forwarded-for": "6.6.6.6",
};

/** Hop-by-hop headers (RFC 9110 §7.6.1), plus one named in Connection. */
const HOP = {
  connection: "keep-alive, x-hop-secret",
  "x-hop-secret": "named-in-connection",
  "keep-alive": "timeout=5",
  te: "trailers",
  trailer: "x-trailer",
  "proxy-authorization": "Basic Zm9vOmJhcg==",
  "proxy-connection": "keep-alive",
};

/**
 * @param {number} port
 * @param {string} method
 * @param {string} path
 * @param {Record<string, string>} headers
 */
function head(port, method, path, headers) {
  const lines = [`${method} ${path} HTTP/1.1`, `host: 127.0.0.1:${port}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/** @param {import("../net/client.mjs").RawResult} r */
const finalStatus = (r) => r.responses.find((x) => x.status >= 200)?.status ?? null;

/**
 * Runs every abusive-client case against one service of three healthy origins.
 * @param {import("../mesh.mjs").Mesh} mesh
 * @param {{ log?: (line: string) => void }} [opts]
 * @returns {Promise<Row[]>}
 */
export async function runClientAbuse(mesh, { log = () => undefined } = {}) {
  const origins = [createFaultOrigin("abuse-a"), createFaultOrigin("abuse-b"), createFaultOrigin("abuse-c")];
  /** @type {Row[]} */
  const rows = [];
  /** Every final status the mesh gave an abusive client, for the 5xx row. */
  /** @type {(number | null)[]} */
  const statuses = [];
  try {
    await Promise.all(origins.map((o) => o.start()));
    const token = await createService(mesh, SERVICE, {
      routes: { pathPrefixes: [PREFIX] },
      healthCheck: { intervalSeconds: 1, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 2 },
      retry: { attempts: 3, perTryTimeoutMs: 1000 },
      outlier: { consecutiveFailures: 3, baseEjectionSeconds: 30, maxEjectionSeconds: 300 },
    });
    for (const o of origins) await register(mesh, SERVICE, token, o.url);
    const warm = await until(15_000, async () => {
      const probe = await load(`${mesh.url}${PREFIX}/warm`, { total: 6, concurrency: 1, timeoutMs: 3000 });
      return new Set(probe.map((e) => e.origin)).size === 3;
    });
    if (!warm) throw new Error("the router never spread traffic over all 3 origins within 15 s");
    const port = mesh.port;
    /** Tries the routers reported as failed, per instance: client behaviour must add none. */
    const failuresNow = async () => {
      const v = await view(mesh, SERVICE);
      return v === null ? null : v.instances.reduce((sum, i) => sum + (i.failures ?? 0), 0);
    };
    const failuresBefore = await failuresNow();
    /** @param {RawStep[]} steps @param {number} [timeoutMs] @param {boolean} [readAll] */
    const raw = async (steps, timeoutMs = 5000, readAll = false) => {
      const r = await rawExchange(port, steps, { timeoutMs, readAll });
      statuses.push(finalStatus(r));
      if (process.env.CHAOS_DEBUG !== undefined) log(`    raw ${r.ms} ms, ${finalStatus(r)}, closed ${r.closedByPeer}, ${r.error}`);
      return r;
    };
    /** @param {(number | null)[]} list */
    const fmt = (list) => {
      /** @type {Map<string, number>} */
      const m = new Map();
      for (const s of list) m.set(s === null ? "no answer" : String(s), (m.get(s === null ? "no answer" : String(s)) ?? 0) + 1);
      return formatStatuses(m);
    };

    // 1. Uploads aborted part-way: the origin (if it got a stream) saw a cut request; it is not the origin's fault.
    {
      /** @type {(number | null)[]} */
      const got = [];
      for (let i = 0; i < 20; i++) {
        const r = await raw([{ write: head(port, "POST", `${PREFIX}/upload`, { "content-type": "application/octet-stream", "content-length": "65536" }) }, { write: Buffer.alloc(1024, 0x75) }, { waitMs: 50 }, { destroy: true }]);
        got.push(finalStatus(r));
      }
      const fivexx = got.filter((s) => s !== null && s >= 500).length;
      rows.push({ group: GROUP, name: "client aborts uploads", traffic: "20 POST, 1 KiB of a declared 64 KiB, then the socket is dropped", result: `answers before the drop: ${fmt(got)}; ${fivexx} 5xx`, target: "0 5xx (ejections: see the last row)", verdict: judgeCount(fivexx) });
    }

    // 1b. Downloads aborted mid-body: every origin drips a 1 s body and the client hangs up after 200 ms.
    {
      await Promise.all(origins.map((o) => o.setMode("drip")));
      /** @type {(number | null)[]} */
      const got = [];
      for (let i = 0; i < 12; i++) {
        const r = await raw([{ write: head(port, "GET", `${PREFIX}/download`, { connection: "close" }) }, { waitMs: 200 }, { destroy: true }]);
        got.push(finalStatus(r));
      }
      await Promise.all(origins.map((o) => o.setMode("ok")));
      const fivexx = got.filter((s) => s !== null && s >= 500).length;
      rows.push({ group: GROUP, name: "client aborts downloads mid-body", traffic: "12 GET of a 1 s dripped body, socket dropped after 200 ms", result: `heads seen before the drop: ${fmt(got)}; ${fivexx} 5xx`, target: "0 5xx (ejections: see the last row)", verdict: judgeCount(fivexx) });
    }

    // 2. Content-Length longer than the body, then the client half-closes.
    {
      /** @type {(number | null)[]} */
      const got = [];
      for (let i = 0; i < 10; i++) {
        const r = await raw([{ write: head(port, "POST", `${PREFIX}/short`, { "content-type": "text/plain", "content-length": "1000", connection: "close" }) }, { write: "x".repeat(100) }, { endWrite: true }]);
        got.push(finalStatus(r));
      }
      const fivexx = got.filter((s) => s !== null && s >= 500).length;
      rows.push({ group: GROUP, name: "Content-Length longer than the body", traffic: "10 POST declaring 1,000 B, sending 100 B, then FIN", result: `${fmt(got)}; ${fivexx} 5xx`, target: "0 5xx", verdict: judgeCount(fivexx) });
    }

    // 3. Content-Length shorter than the body: the rest must never reach an origin inside a body.
    {
      const before = origins.map((o) => o.seen.length);
      /** @type {(number | null)[]} */
      const got = [];
      for (let i = 0; i < 10; i++) {
        const smuggled = `GET ${PREFIX}/smuggled-${i} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`;
        const r = await raw([{ write: head(port, "POST", `${PREFIX}/long`, { "content-type": "text/plain", "content-length": "5", connection: "close" }) + "hello" + smuggled }, { waitMs: 100 }, { endWrite: true }], 5000, true);
        got.push(finalStatus(r));
      }
      // A pipelined request arriving as a request of its own is fine; arriving inside a body is a desync.
      const leaked = origins.flatMap((o, k) => o.seen.slice(before[k] ?? 0)).filter((q) => q.body.includes("smuggled")).length;
      const fivexx = got.filter((s) => s !== null && s >= 500).length;
      rows.push({ group: GROUP, name: "Content-Length shorter than the body", traffic: "10 POST declaring 5 B, followed by a pipelined GET", result: `${fmt(got)}; ${leaked} origin requests carried the extra bytes; ${fivexx} 5xx`, target: "0 desynchronised bodies, 0 5xx", verdict: judgeAll([leaked, fivexx]) });
    }

    // 4. Both Content-Length and Transfer-Encoding (RFC 9112 §6.1: a classic smuggling vector).
    {
      /** @type {(number | null)[]} */
      const got = [];
      for (let i = 0; i < 5; i++) {
        const r = await raw([{ write: head(port, "POST", `${PREFIX}/clte`, { "content-length": "4", "transfer-encoding": "chunked", connection: "close" }) + "0\r\n\r\nGET /x HTTP/1.1\r\n\r\n" }, { endWrite: true }]);
        got.push(finalStatus(r));
      }
      const fivexx = got.filter((s) => s !== null && s >= 500).length;
      rows.push({ group: GROUP, name: "Content-Length and Transfer-Encoding together", traffic: "5 POST with both headers and a trailing request", result: `${fmt(got)}; ${fivexx} 5xx`, target: "0 5xx", verdict: judgeCount(fivexx) });
    }

    // 5. Expect: 100-continue.
    {
      /** @type {(number | null)[]} */
      const got = [];
      let interim = 0;
      let delivered = 0;
      const body = JSON.stringify({ expect: "continue", pad: "e".repeat(2000) });
      const before = origins.map((o) => o.seen.length);
      let slowest = 0;
      // Concurrent: a mesh that stalls on Expect would otherwise cost the run seconds per request.
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          raw([{ write: head(port, "POST", `${PREFIX}/expect`, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), expect: "100-continue", connection: "close" }) }, { waitForInterimMs: 1000 }, { write: body }], 8000),
        ),
      );
      for (const r of results) {
        if (r.responses.some((x) => x.status === 100)) interim++;
        got.push(finalStatus(r));
        slowest = Math.max(slowest, r.ms);
      }
      delivered = origins.flatMap((o, k) => o.seen.slice(before[k] ?? 0)).filter((q) => q.path.startsWith(`${PREFIX}/expect`) && q.body.toString() === body).length;
      const errors = got.filter((s) => s !== 200).length;
      rows.push({ group: GROUP, name: "Expect: 100-continue", traffic: "10 concurrent POST of 2 KiB, body sent after a 100 or 1 s", result: `${fmt(got)}; ${interim} got a 100 Continue; ${delivered} bodies delivered whole; slowest answer ${slowest} ms`, target: "0 client errors, every body delivered once", verdict: judgeAll([errors, Math.abs(10 - delivered)]) });
    }

    // 6. Forged x-mesh-* and X-Forwarded-* headers.
    {
      const before = origins.map((o) => o.seen.length);
      /** @type {(number | null)[]} */
      const got = [];
      for (let i = 0; i < 10; i++) got.push(finalStatus(await raw([{ write: head(port, "GET", `${PREFIX}/forged`, { ...FORGED, connection: "close" }) }])));
      const reqs = origins.flatMap((o, k) => o.seen.slice(before[k] ?? 0)).filter((q) => q.path.startsWith(`${PREFIX}/forged`));
      /** @type {Map<string, number>} */
      const trusted = new Map();
      for (const q of reqs) {
        for (const [name, value] of Object.entries(FORGED)) {
          const v = q.headers.get(name);
          // An X-Forwarded-For the mesh appended to is the standard chain; only the client's value alone is a forgery passed off.
          if (v === value) trusted.set(name, (trusted.get(name) ?? 0) + 1);
        }
      }
      const count = [...trusted.values()].reduce((a, b) => a + b, 0);
      const which = [...trusted.entries()].map(([k, n]) => `${k}×${n}`).join(", ");
      rows.push({ group: GROUP, name: "forged x-mesh-* and X-Forwarded-* headers", traffic: `10 GET, each with ${Object.keys(FORGED).length} forged headers`, result: `${fmt(got)}; ${reqs.length} reached origins; forged values delivered as sent: ${count}${count > 0 ? ` (${which})` : ""}`, target: "0 forged values delivered", verdict: reqs.length === 0 ? "not measured" : judgeCount(count) });
    }

    // 7. Hop-by-hop headers.
    {
      const before = origins.map((o) => o.seen.length);
      /** @type {(number | null)[]} */
      const got = [];
      for (let i = 0; i < 10; i++) got.push(finalStatus(await raw([{ write: head(port, "GET", `${PREFIX}/hop`, HOP) }, { waitMs: 300 }, { endWrite: true }])));
      const reqs = origins.flatMap((o, k) => o.seen.slice(before[k] ?? 0)).filter((q) => q.path.startsWith(`${PREFIX}/hop`));
      /** @type {Map<string, number>} */
      const leaked = new Map();
      for (const q of reqs) {
        for (const [name, value] of Object.entries(HOP)) {
          if (name === "connection" || name === "keep-alive") continue; // the mesh's own connection to the origin may carry its own
          if (q.headers.get(name) === value) leaked.set(name, (leaked.get(name) ?? 0) + 1);
        }
      }
      const count = [...leaked.values()].reduce((a, b) => a + b, 0);
      rows.push({ group: GROUP, name: "hop-by-hop headers", traffic: `10 GET with ${Object.keys(HOP).join(", ")}`, result: `${fmt(got)}; ${reqs.length} reached origins; hop-by-hop headers forwarded: ${count}${count > 0 ? ` (${[...leaked.entries()].map(([k, n]) => `${k}×${n}`).join(", ")})` : ""}`, target: "0 forwarded", verdict: reqs.length === 0 ? "not measured" : judgeCount(count) });
    }

    // 8. Malformed requests: what the runtime or the mesh answers must not be a 5xx.
    {
      /** @type {[string, string][]} */
      const bad = [
        ["bad request line", "GARBAGE\r\n\r\n"],
        ["unknown method", `BREW ${PREFIX}/pot HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`],
        ["64 KiB header", head(port, "GET", `${PREFIX}/big-header`, { "x-big": "b".repeat(65536), connection: "close" })],
        ["NUL in a header", `GET ${PREFIX}/nul HTTP/1.1\r\nhost: x\r\nx-nul: a\u0000b\r\nconnection: close\r\n\r\n`],
        ["bad chunk size", `POST ${PREFIX}/chunk HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`],
        ["absolute-form URI to another host", `GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\nhost: 169.254.169.254\r\nconnection: close\r\n\r\n`],
        ["encoded path escape", `GET ${PREFIX}/..%2f..%2f_mesh/v1/services HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`],
        ["invalid JSON to the API", head(port, "PUT", "/_mesh/v1/services/abuse2", { authorization: "Bearer nope", "content-type": "application/json", "content-length": "3", connection: "close" }) + "{{{"],
      ];
      /** @type {string[]} */
      const parts = [];
      let fivexx = 0;
      for (const [name, bytes] of bad) {
        const r = await raw([{ write: bytes }, { waitMs: 200 }, { endWrite: true }]);
        const s = finalStatus(r);
        // 501 is what RFC 9110 §15.6.2 prescribes for a method the server does not recognise.
        if (s !== null && s >= 500 && s !== 501) fivexx++;
        const final = r.responses.find((x) => x.status >= 200);
        const fromMesh = final !== undefined && /"error"\s*:/.test(final.body.toString("utf8"));
        parts.push(`${name}: ${s ?? "closed"}${s !== null && s >= 500 && !fromMesh ? " (from workerd, not the mesh)" : ""}`);
      }
      rows.push({ group: GROUP, name: "malformed requests", traffic: `${bad.length} raw requests, one of each`, result: `${parts.join("; ")}; ${fivexx} 5xx`, target: "0 5xx (501 for an unknown method is RFC 9110's answer)", verdict: judgeCount(fivexx) });
    }

    // Afterwards: the healthy origins must still be healthy, and serving. Routers send failed
    // outcomes within 200 ms and the rest within 1 s (edge/report/outcome-reporter.ts): wait them out.
    await new Promise((r) => setTimeout(r, 1500));
    const failuresAfter = await failuresNow();
    const charged = failuresBefore === null || failuresAfter === null ? null : failuresAfter - failuresBefore;
    const after = await load(`${mesh.url}${PREFIX}/after`, { total: 30, concurrency: 3, timeoutMs: 5000 });
    const s = summarise(after);
    const v = await view(mesh, SERVICE);
    const ejected = v === null ? null : v.instances.filter((i) => i.state !== "healthy" || i.ejectedUntil !== null).length;
    const states = v === null ? "service unreadable" : v.instances.map((i) => `${i.state}${i.ejectedUntil !== null ? " (ejected)" : ""}`).join(", ");
    rows.push({ group: GROUP, name: "healthy origins after all abusive clients", traffic: "every case above, then 30 GET", result: `failed tries charged to the origins: ${charged ?? "unreadable"}; instances: ${states}; ${ejected ?? "?"} not healthy; follow-up GETs: ${formatStatuses(s.statuses)}`, target: "0 failures charged to healthy origins, 0 ejected, 0 client errors after", verdict: judgeAll([charged, ejected, s.clientErrors]) });
    const all5xx = statuses.filter((x) => x !== null && x >= 500).length;
    log(`  abuse: ${rows.map((r) => r.verdict).join(", ")} (${all5xx} 5xx overall)`);
    return rows;
  } finally {
    await Promise.all(origins.map((o) => o.stop()));
  }
}
