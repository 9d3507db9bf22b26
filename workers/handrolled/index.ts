import { relayedBodyLength } from "../../src/core/proxy/body-length.js";
import { downstreamHeaders, upstreamHeaders } from "../../src/core/proxy/forward-headers.js";
import { BodyFailed, failedBody } from "../../src/edge/proxy/body-watch.js";
import { tryOrigin } from "../../src/edge/proxy/try-origin.js";

/**
 * A benchmark reference, never deployed: what a careful hand-rolled failover
 * Worker does per request, with none of the mesh's registry, route table,
 * health state, stall tracking or outcome reporting. It does the work any
 * correct proxy must, with the mesh's own code for it: the header rules
 * (hop-by-hop headers stripped both ways, forged `x-mesh-*` dropped,
 * `X-Forwarded-*` set), one try per origin with the per-try timeout, and
 * round-robin over a fixed origin list with failover to the next origin on a
 * connection error, a timeout or a 502/503/504, plus one response header
 * naming the origin that answered. With BODY_IDLE_MS set it also guards
 * small answers the way the mesh's try stage does (issue 9): a sized answer
 * of up to 64 KiB is read whole within that limit, and one that breaks or
 * stalls is relayed as a stream that errors. The bench runs it both ways, so
 * the report can tell what that guard costs apart from the rest of the mesh. `npm run bench` runs it next to the bare
 * pass-through and the mesh, so the report can tell the cost of proxying
 * correctly apart from the cost of the mesh itself.
 */
interface HandRolledEnv {
  /** Comma-separated origin base URLs, e.g. "http://127.0.0.1:9101,http://127.0.0.1:9102". */
  ORIGIN_URLS: string;
  /** Unset (or "0"): every body streams through untouched. Milliseconds: the body guard above. */
  BODY_IDLE_MS?: string;
}

const PER_TRY_TIMEOUT_MS = 1_000;
const RETRY_STATUSES = new Set([502, 503, 504]);
let next = 0;

export default {
  async fetch(request, env) {
    const origins = env.ORIGIN_URLS.split(",");
    const bodyIdleMs = Number(env.BODY_IDLE_MS ?? "0") || 0;
    const url = new URL(request.url);
    const headers = upstreamHeaders(request.headers, {
      clientIp: request.headers.get("cf-connecting-ip"),
      proto: url.protocol.slice(0, -1),
      host: url.host,
    });
    // The bench sends GETs only; other methods get one try (a body would need buffering to be resent).
    const retryable = request.method === "GET" || request.method === "HEAD";
    const first = next++ % origins.length;
    let last: Response | null = null;
    for (let i = 0; i < origins.length; i++) {
      const origin = origins[(first + i) % origins.length] ?? "";
      // The failed answer before this try will not be returned: release its body.
      await last?.body?.cancel();
      const result = await tryOrigin(origin + url.pathname + url.search, { method: request.method, headers, body: request.body }, PER_TRY_TIMEOUT_MS, fetch, bodyIdleMs);
      if (result.response !== null && !RETRY_STATUSES.has(result.response.status)) {
        const out = downstreamHeaders(result.response.headers);
        out.set("x-served-by", origin);
        // A body read whole (BODY_IDLE_MS) is relayed from memory; one whose read failed, as a stream that errors.
        // Any other streams as it came: tryOrigin reads nothing else, and this Worker reads no unsized body ahead.
        const read = result.ok ? result.body : null;
        const body = read instanceof ArrayBuffer ? read : read instanceof BodyFailed ? failedBody(read, relayedBodyLength(result.response.headers)) : result.response.body;
        return new Response(body, { status: result.response.status, statusText: result.response.statusText, headers: out });
      }
      last = result.response;
      if (!retryable) break;
    }
    return last ?? new Response("no origin answered", { status: 502 });
  },
} satisfies ExportedHandler<HandRolledEnv>;
