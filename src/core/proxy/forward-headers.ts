/**
 * Header rules for a reverse proxy (RFC 9110 §7.6.1): hop-by-hop headers,
 * including any named in `Connection`, belong to one connection and must not
 * be forwarded. Clients may not set `x-mesh-*`: those headers are the mesh's
 * own and a client could otherwise forge them.
 */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

export const MESH_HEADER_PREFIX = "x-mesh-";

// RFC 9110 §5.6.2 token. Connection is sent by the client (or origin), and
// Headers.delete throws on an invalid name in workerd and Node alike, so a bad
// token must be skipped rather than turn the request into a 500.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

function stripHopByHop(headers: Headers): void {
  const named = headers.get("connection");
  if (named !== null) {
    for (const token of named.split(",")) {
      const name = token.trim().toLowerCase();
      if (HEADER_NAME.test(name)) headers.delete(name);
    }
  }
  for (const name of HOP_BY_HOP) headers.delete(name);
}

/** Whether a comma-separated header value lists `token` (compared without case, as RFC 9110 tokens are). */
function listsToken(value: string | null, token: string): boolean {
  if (value === null) return false;
  for (const item of value.split(",")) if (item.trim().toLowerCase() === token) return true;
  return false;
}

/**
 * A WebSocket opening handshake the runtime will take (RFC 6455 §4.1, as
 * workerd's HTTP server checks it): a GET whose `Upgrade` is `websocket`
 * alone, with `Sec-WebSocket-Version: 13` and a `Sec-WebSocket-Key`, and a
 * `Connection` naming `upgrade`. Anything looser (`Upgrade: h2c, websocket`, a
 * missing key) workerd would not hand a socket to, so answering it with the
 * origin's 101 would fail after the origin had opened one: it goes to the
 * origin as a plain request instead. Both `Upgrade` and `Connection` are
 * hop-by-hop, so upstreamHeaders strips them like any other and then asks the
 * origin for the upgrade itself. `Upgrade` is read first: almost no other
 * request has one, so they cost one header lookup.
 */
export function isWebSocketHandshake(method: string, headers: Headers): boolean {
  const upgrade = headers.get("upgrade");
  if (upgrade === null || method !== "GET" || upgrade.trim().toLowerCase() !== "websocket") return false;
  return headers.get("sec-websocket-version")?.trim() === "13" && headers.has("sec-websocket-key") && listsToken(headers.get("connection"), "upgrade");
}

export interface ForwardContext {
  /** The client's address (CF-Connecting-IP at the edge); null when unknown. */
  clientIp: string | null;
  /** "http" or "https", as the client spoke to the edge. */
  proto: string;
  /** The Host the client asked for. */
  host: string;
  /** The request is a WebSocket handshake (isWebSocketHandshake): the upgrade is asked of the origin. */
  webSocket?: boolean;
}

/** Headers to send upstream, built from the client's request headers. */
export function upstreamHeaders(incoming: Headers, ctx: ForwardContext): Headers {
  const headers = new Headers(incoming);
  stripHopByHop(headers);
  const meshHeaders: string[] = [];
  headers.forEach((_value, name) => {
    if (name.startsWith(MESH_HEADER_PREFIX)) meshHeaders.push(name);
  });
  for (const name of meshHeaders) headers.delete(name);
  // `host` is set by fetch from the upstream URL; the original goes in X-Forwarded-Host.
  headers.delete("host");
  // The mesh has already read the body, or streams it at once, so it never waits
  // for a 100 Continue; forwarded, `Expect` makes the origin send one, which
  // fetch hands back as the response (status 100, not relayable).
  headers.delete("expect");
  // The forwarding facts are the mesh's X-Forwarded-*, which override a client's. A client's RFC 7239
  // Forwarded would contradict them, and origins that read it first (Spring's ForwardedHeaderFilter)
  // took its host and proto: the spoof the override exists to stop.
  headers.delete("forwarded");
  if (ctx.clientIp !== null) {
    const prior = incoming.get("x-forwarded-for");
    headers.set("x-forwarded-for", prior !== null && prior.trim() !== "" ? `${prior}, ${ctx.clientIp}` : ctx.clientIp);
  }
  headers.set("x-forwarded-proto", ctx.proto);
  headers.set("x-forwarded-host", ctx.host);
  if (ctx.webSocket === true) {
    // The client's own Connection may name other hop-by-hop headers; the origin's connection gets only the upgrade.
    headers.set("connection", "Upgrade");
    headers.set("upgrade", "websocket");
  }
  return headers;
}

/**
 * Whether an upstream answer carries anything downstreamHeaders would remove:
 * any hop-by-hop header (a header named in `Connection` needs `Connection`
 * itself, which is one). Lets an answer that needs no change go out as it came.
 */
export function hasHopByHop(upstream: Headers): boolean {
  for (const name of HOP_BY_HOP) if (upstream.has(name)) return true;
  return false;
}

/** Headers to return to the client from an upstream response. */
export function downstreamHeaders(upstream: Headers): Headers {
  const headers = new Headers(upstream);
  stripHopByHop(headers);
  return headers;
}
