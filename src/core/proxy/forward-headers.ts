/**
 * Header rules for a reverse proxy (RFC 9110 §7.6.1): hop-by-hop headers,
 * including any named in `Connection`, belong to one connection and must not
 * be forwarded. Clients may not set `x-mesh-*`: those headers are the mesh's
 * own and a client could otherwise forge them.
 *
 * workerd passes hop-by-hop headers through in both directions (checked with
 * workerd 1.20260426: `proxy-connection`, `proxy-authorization`, `upgrade`,
 * `trailer` and Connection-named headers reach the Worker and would be sent
 * on), so stripping is needed. Each Headers call crosses into the runtime, so
 * the headers are walked once and only names actually present are deleted,
 * instead of deleting every hop-by-hop name blindly.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

export const MESH_HEADER_PREFIX = "x-mesh-";

// RFC 9110 token: Headers.delete() throws on anything else, so a malformed
// Connection header must not reach it.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/** Names to remove from `headers`: hop-by-hop, those listed in Connection, and (upstream) x-mesh-* and host. */
function namesToDrop(headers: Headers, upstream: boolean): string[] {
  const drop: string[] = [];
  let connection: string | null = null;
  for (const [name, value] of headers) {
    if (HOP_BY_HOP.has(name)) {
      drop.push(name);
      if (name === "connection") connection = value;
    } else if (upstream && (name === "host" || name.startsWith(MESH_HEADER_PREFIX))) {
      drop.push(name);
    }
  }
  if (connection !== null) {
    for (const token of connection.split(",")) {
      const name = token.trim().toLowerCase();
      if (name !== "" && HEADER_NAME.test(name) && !drop.includes(name)) drop.push(name);
    }
  }
  return drop;
}

export interface ForwardContext {
  /** The client's address (CF-Connecting-IP at the edge); null when unknown. */
  clientIp: string | null;
  /** "http" or "https", as the client spoke to the edge. */
  proto: string;
  /** The Host the client asked for. */
  host: string;
}

/** Headers to send upstream, built from the client's request headers. */
export function upstreamHeaders(incoming: Headers, ctx: ForwardContext): Headers {
  const drop = namesToDrop(incoming, true);
  const headers = new Headers(incoming);
  // `host` is set by fetch from the upstream URL; the original goes in X-Forwarded-Host.
  for (const name of drop) headers.delete(name);
  if (ctx.clientIp !== null) {
    const prior = incoming.get("x-forwarded-for");
    headers.set("x-forwarded-for", prior !== null && prior.trim() !== "" ? `${prior}, ${ctx.clientIp}` : ctx.clientIp);
  }
  headers.set("x-forwarded-proto", ctx.proto);
  headers.set("x-forwarded-host", ctx.host);
  return headers;
}

/** Headers to return to the client from an upstream response. */
export function downstreamHeaders(upstream: Headers): Headers {
  const drop = namesToDrop(upstream, false);
  const headers = new Headers(upstream);
  for (const name of drop) headers.delete(name);
  return headers;
}
