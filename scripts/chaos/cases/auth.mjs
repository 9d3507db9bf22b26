// @ts-check
// Authentication rows: bad JWTs at the edge, and forged, replayed, skewed or
// mis-keyed upstream signatures checked with the project's own verifier. Each
// feature is probed first: a build whose service config does not keep the
// `auth.jwt` or `signing` field (or has no verifier) gets "not available in
// this build" rows instead of a crash or a guess.
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "../../lib/mesh-runtime.mjs";
import { createFaultOrigin } from "../net/fault-origin.mjs";
import { exchange } from "../net/client.mjs";
import { formatStatuses } from "../model/outcomes.mjs";
import { judgeAll, NOT_AVAILABLE } from "../model/report.mjs";
import { call, parseJson, register, until, view } from "../mesh.mjs";
import { AUDIENCE, ISSUER, jwtFixtures, SCOPE } from "./jwt-tokens.mjs";

const GROUP = "Authentication (ALLOW_PRIVATE_ORIGINS on)";
export const SIGNING_BINDING = "CHAOS_SIGNING_SECRET";
export const SIGNING_SECRET = "chaos-signing-secret-0123456789";
const VERIFIER = path.join(ROOT, "verify/verify-mesh-signature.mjs");

/** @typedef {import("../model/report.mjs").Row} Row */

/**
 * Creates a service with `extra` config and reports whether the stored config kept `field`.
 * @param {import("../mesh.mjs").Mesh} mesh @param {string} name @param {Record<string, unknown>} extra @param {string} field
 * @returns {Promise<{ token: string } | { missing: string }>}
 */
async function serviceWith(mesh, name, extra, field) {
  const r = await call(mesh, "PUT", `/_mesh/v1/services/${name}`, { body: JSON.stringify({ routes: { pathPrefixes: [`/${name}`] }, ...extra }) });
  if (r.status !== 201 && r.status !== 200) return { missing: `the service config with \`${field}\` was refused: ${r.status} ${r.text.slice(0, 160)}` };
  const v = await view(mesh, name);
  if (v === null || !(field in v.service.config)) return { missing: `\`${field}\` is not part of the service config in this build (dropped on PUT)` };
  const body = /** @type {{ registrationToken?: unknown } | null} */ (parseJson(r.text));
  if (typeof body?.registrationToken !== "string") return { missing: `no registration token in the answer: ${r.text.slice(0, 160)}` };
  return { token: body.registrationToken };
}

/**
 * @param {import("../mesh.mjs").Mesh} mesh
 * @param {{ log?: (line: string) => void }} [opts]
 * @returns {Promise<Row[]>}
 */
export async function runAuth(mesh, { log = () => undefined } = {}) {
  const origin = createFaultOrigin("auth");
  await origin.start();
  try {
    const rows = [...(await jwtRows(mesh, origin)), ...(await signingRows(mesh, origin))];
    log(`  auth: ${rows.map((r) => r.verdict).join(", ")}`);
    return rows;
  } finally {
    await origin.stop();
  }
}

/**
 * @param {import("../mesh.mjs").Mesh} mesh @param {import("../net/fault-origin.mjs").FaultOrigin} origin
 * @returns {Promise<Row[]>}
 */
async function jwtRows(mesh, origin) {
  const name = "auth-jwt";
  const fx = jwtFixtures(Math.floor(Date.now() / 1000));
  const svc = await serviceWith(
    mesh,
    name,
    { auth: { jwt: { issuer: ISSUER, audiences: [AUDIENCE], jwks: { keys: [fx.publicJwk] }, requiredScopes: [SCOPE], forwardClaimsHeader: "x-mesh-claims" } } },
    "auth",
  );
  const traffic = `${fx.bad.length} bad tokens and 1 valid one, GET through the mesh`;
  if ("missing" in svc) {
    return [{ group: GROUP, name: "bad JWTs at the edge", traffic, result: svc.missing, target: "0 bad tokens accepted, 0 5xx", verdict: NOT_AVAILABLE }];
  }
  await register(mesh, name, svc.token, origin.url);
  const url = `${mesh.url}/${name}/claims`;
  const ready = await until(10_000, async () => (await exchange(url, { headers: { authorization: fx.valid }, timeoutMs: 3000 })).status === 200);
  /** @type {Map<string, number>} */
  const statuses = new Map();
  /** @type {string[]} */
  const accepted = [];
  let fivexx = 0;
  for (const [what, authz] of fx.bad) {
    const e = await exchange(url, { headers: authz === null ? {} : { authorization: authz }, timeoutMs: 5000 });
    const key = e.status === null ? "no answer" : String(e.status);
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
    if (e.status !== null && e.status >= 200 && e.status < 300) accepted.push(what);
    if (e.status === null || e.status >= 500) fivexx++;
  }
  const before = origin.seen.length;
  const forged = "eyJzdWIiOiJhZG1pbiJ9";
  const good = await exchange(url, { headers: { authorization: fx.valid, "x-mesh-claims": forged }, timeoutMs: 5000 });
  const claimsSeen = origin.seen.slice(before).find((q) => q.path.startsWith(`/${name}`))?.headers.get("x-mesh-claims");
  const forgedDelivered = claimsSeen === forged || (claimsSeen ?? "").includes(forged) ? 1 : 0;
  return [
    {
      group: GROUP,
      name: "bad JWTs at the edge",
      traffic,
      result:
        `bad tokens: ${formatStatuses(statuses)}; ${accepted.length} accepted${accepted.length > 0 ? ` (${accepted.join(", ")})` : ""}; ${fivexx} 5xx; ` +
        `valid token: ${good.status ?? "no answer"}${ready ? "" : " (never answered 200 while warming up)"}`,
      target: "0 bad tokens accepted, 0 5xx, the valid token accepted",
      verdict: judgeAll([accepted.length, fivexx, good.status === 200 ? 0 : 1]),
    },
    {
      group: GROUP,
      name: "client-supplied claims header next to a valid JWT",
      traffic: "1 GET with a valid token and a forged x-mesh-claims",
      result: claimsSeen === undefined ? "the request did not reach the origin" : `origin received ${forgedDelivered === 1 ? "the forged claims" : "the mesh's claims, not the forged ones"}`,
      target: "0 forged claims delivered",
      verdict: claimsSeen === undefined ? "not measured" : judgeAll([forgedDelivered]),
    },
  ];
}

/**
 * @param {import("../mesh.mjs").Mesh} mesh @param {import("../net/fault-origin.mjs").FaultOrigin} origin
 * @returns {Promise<Row[]>}
 */
async function signingRows(mesh, origin) {
  const name = "auth-sign";
  const target = "0 forged, replayed, skewed or mis-keyed signatures accepted; every genuine one accepted";
  const traffic = "6 requests through the mesh (3 GET, 3 POST, each with a forged x-mesh-signature), then 8 tampered variants of each checked by the verifier";
  if (!existsSync(VERIFIER)) {
    return [{ group: GROUP, name: "forged, replayed and skewed upstream signatures", traffic, result: "no verify/verify-mesh-signature.mjs in this build", target, verdict: NOT_AVAILABLE }];
  }
  const svc = await serviceWith(mesh, name, { signing: { secretRef: SIGNING_BINDING } }, "signing");
  if ("missing" in svc) return [{ group: GROUP, name: "forged, replayed and skewed upstream signatures", traffic, result: svc.missing, target, verdict: NOT_AVAILABLE }];
  /** @type {unknown} */
  const loaded = await import(pathToFileURL(VERIFIER).href);
  const verifier = /** @type {{ verifyMeshSignature: (input: Record<string, unknown>) => Promise<{ ok: boolean, reason?: string }> }} */ (loaded);
  if (typeof verifier.verifyMeshSignature !== "function") {
    return [{ group: GROUP, name: "forged, replayed and skewed upstream signatures", traffic, result: "verify-mesh-signature.mjs exports no verifyMeshSignature", target, verdict: NOT_AVAILABLE }];
  }
  await register(mesh, name, svc.token, origin.url);
  const before = origin.seen.length;
  const forged = `t=${Math.floor(Date.now() / 1000)},v1=${"0".repeat(64)}`;
  await until(10_000, async () => (await exchange(`${mesh.url}/${name}/warm`, { timeoutMs: 3000 })).status === 200);
  for (let i = 0; i < 6; i++) {
    const post = i % 2 === 1;
    await exchange(`${mesh.url}/${name}/s?i=${i}`, { method: post ? "POST" : "GET", headers: { "x-mesh-signature": forged, ...(post ? { "content-type": "application/json" } : {}) }, timeoutMs: 5000, ...(post ? { body: JSON.stringify({ i }) } : {}) });
  }
  const captured = origin.seen.slice(before).filter((q) => q.path.startsWith(`/${name}/s`));
  /** @param {import("../net/fault-origin.mjs").SeenRequest} q @param {Record<string, unknown>} over */
  const verify = (q, over = {}) =>
    verifier.verifyMeshSignature({ secret: SIGNING_SECRET, method: q.method, url: q.path, headers: Object.fromEntries(q.headers), body: q.body, ...over });
  let genuineOk = 0;
  let forgedThrough = 0;
  /** @type {Map<string, number>} */
  const acceptedBad = new Map();
  const bump = (/** @type {string} */ k) => acceptedBad.set(k, (acceptedBad.get(k) ?? 0) + 1);
  for (const [k, q] of captured.entries()) {
    const sig = q.headers.get("x-mesh-signature") ?? "";
    if (sig === forged) forgedThrough++;
    if ((await verify(q)).ok) genuineOk++;
    const t = Number(/t=(\d+)/.exec(sig)?.[1] ?? "0") * 1000;
    const other = captured[(k + 1) % captured.length];
    /** @type {[string, Record<string, unknown>][]} */
    const tampered = [
      ["random v1", { headers: { ...Object.fromEntries(q.headers), "x-mesh-signature": `t=${t / 1000},v1=${"ab".repeat(32)}` } }],
      ["wrong secret", { secret: "not-the-secret" }],
      ["skewed +1 h", { now: t + 3_600_000 }],
      ["skewed −1 h", { now: t - 3_600_000 }],
      ["other path", { url: `${q.path}&x=1` }],
      ["other method", { method: q.method === "GET" ? "DELETE" : "PUT" }],
      ["other body", { body: Buffer.from('{"i":999}') }],
      ["signature of another request", other === undefined || other === q ? {} : { headers: { ...Object.fromEntries(q.headers), "x-mesh-signature": other.headers.get("x-mesh-signature") ?? "" } }],
    ];
    for (const [what, over] of tampered) if (Object.keys(over).length > 0 && (await verify(q, over)).ok) bump(what);
    // Replay: the same request presented twice to an origin that keeps the documented replay cache.
    /** @type {Set<string>} */
    const cache = new Set();
    const guard = (/** @type {string} */ key) => (cache.has(key) ? false : (cache.add(key), true));
    await verify(q, { replayGuard: guard });
    if ((await verify(q, { replayGuard: guard })).ok) bump("replayed");
  }
  const bad = [...acceptedBad.values()].reduce((a, b) => a + b, 0);
  return [
    {
      group: GROUP,
      name: "forged, replayed and skewed upstream signatures",
      traffic,
      result:
        `${captured.length} requests reached the origin; ${genuineOk} verified; ${forgedThrough} carried the client's forged signature; ` +
        `${bad} tampered variants accepted${bad > 0 ? ` (${[...acceptedBad.entries()].map(([k, n]) => `${k}×${n}`).join(", ")})` : ""}`,
      target,
      verdict: captured.length === 0 ? "not measured" : judgeAll([bad, forgedThrough, captured.length - genuineOk]),
    },
  ];
}
