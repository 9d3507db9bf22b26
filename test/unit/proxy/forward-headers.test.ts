import { describe, expect, it } from "vitest";
import { downstreamHeaders, hasHopByHop, isWebSocketHandshake, upstreamHeaders, type ForwardContext } from "../../../src/core/proxy/forward-headers.js";

const ctx: ForwardContext = { clientIp: "203.0.113.7", proto: "https", host: "api.example.com" };

describe("upstreamHeaders", () => {
  it("removes the standard hop-by-hop headers", () => {
    const out = upstreamHeaders(
      new Headers({
        connection: "keep-alive",
        "keep-alive": "timeout=5",
        "proxy-authorization": "Basic abc",
        "proxy-connection": "keep-alive",
        te: "trailers",
        trailer: "x-checksum",
        "transfer-encoding": "chunked",
        upgrade: "websocket",
      }),
      ctx,
    );
    for (const name of ["connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]) {
      expect(out.has(name)).toBe(false);
    }
  });

  it("never forwards Expect: the mesh has the body or streams it, and must not get a 100 Continue back", () => {
    const out = upstreamHeaders(new Headers({ expect: "100-continue", "content-type": "application/octet-stream" }), ctx);
    expect(out.has("expect")).toBe(false);
    expect(out.get("content-type")).toBe("application/octet-stream");
  });

  it("removes headers named in Connection, whatever their case or spacing", () => {
    const out = upstreamHeaders(
      new Headers({ connection: "X-Session-Hop ,  x-other-hop", "x-session-hop": "1", "x-other-hop": "2", "x-keep": "3" }),
      ctx,
    );
    expect(out.has("x-session-hop")).toBe(false);
    expect(out.has("x-other-hop")).toBe(false);
    expect(out.get("x-keep")).toBe("3");
  });

  it("does not throw on a Connection value that is not a valid header name list", () => {
    const out = upstreamHeaders(new Headers({ connection: "close, foo bar, @x,, x-hop", "x-hop": "1", accept: "*/*" }), ctx);
    expect(out.has("x-hop")).toBe(false);
    expect(out.get("accept")).toBe("*/*");
  });

  it("drops every x-mesh-* header the client sent", () => {
    const out = upstreamHeaders(
      new Headers({ "x-mesh-instance": "forged", "X-Mesh-Attempts": "9", "x-meshy": "keep", "x-request-id": "r1" }),
      ctx,
    );
    expect(out.has("x-mesh-instance")).toBe(false);
    expect(out.has("x-mesh-attempts")).toBe(false);
    expect(out.get("x-meshy")).toBe("keep");
    expect(out.get("x-request-id")).toBe("r1");
  });

  it("sets X-Forwarded-For to the client address", () => {
    expect(upstreamHeaders(new Headers(), ctx).get("x-forwarded-for")).toBe("203.0.113.7");
  });

  it("appends the client address to an existing X-Forwarded-For chain", () => {
    const out = upstreamHeaders(new Headers({ "x-forwarded-for": "198.51.100.1, 198.51.100.2" }), ctx);
    expect(out.get("x-forwarded-for")).toBe("198.51.100.1, 198.51.100.2, 203.0.113.7");
  });

  it("ignores a blank X-Forwarded-For rather than leaving a leading comma", () => {
    const out = upstreamHeaders(new Headers({ "x-forwarded-for": "  " }), ctx);
    expect(out.get("x-forwarded-for")).toBe("203.0.113.7");
  });

  it("leaves X-Forwarded-For as the client sent it when the client address is unknown", () => {
    expect(upstreamHeaders(new Headers({ "x-forwarded-for": "198.51.100.1" }), { ...ctx, clientIp: null }).get("x-forwarded-for")).toBe(
      "198.51.100.1",
    );
    expect(upstreamHeaders(new Headers(), { ...ctx, clientIp: null }).has("x-forwarded-for")).toBe(false);
  });

  it("sets X-Forwarded-Proto and X-Forwarded-Host, overriding client values", () => {
    const out = upstreamHeaders(new Headers({ "x-forwarded-proto": "ftp", "x-forwarded-host": "evil.example" }), {
      ...ctx,
      proto: "http",
    });
    expect(out.get("x-forwarded-proto")).toBe("http");
    expect(out.get("x-forwarded-host")).toBe("api.example.com");
  });

  it("drops a client's Forwarded (RFC 7239), whose host and proto would contradict the X-Forwarded-* it overrides", () => {
    // Origins that prefer Forwarded (Spring's ForwardedHeaderFilter reads it first) took the client's host.
    const out = upstreamHeaders(new Headers({ forwarded: 'for=198.51.100.9;host="evil.example";proto=https', "x-forwarded-host": "evil.example" }), ctx);
    expect(out.has("forwarded")).toBe(false);
    expect(out.get("x-forwarded-host")).toBe("api.example.com");
  });

  it("removes Host so fetch sets it from the upstream URL", () => {
    expect(upstreamHeaders(new Headers({ host: "api.example.com" }), ctx).has("host")).toBe(false);
  });

  it("keeps end-to-end headers untouched", () => {
    const incoming = new Headers({
      accept: "application/json",
      authorization: "Bearer t0k3n",
      "content-type": "application/json",
      cookie: "a=1; b=2",
      "user-agent": "curl/8",
      "x-request-id": "abc",
    });
    const out = upstreamHeaders(incoming, ctx);
    incoming.forEach((value, name) => expect(out.get(name)).toBe(value));
  });

  it("does not modify the incoming headers", () => {
    const incoming = new Headers({ connection: "x-hop", "x-hop": "1", host: "h", "x-mesh-a": "1" });
    upstreamHeaders(incoming, ctx);
    expect([...incoming.keys()].sort()).toEqual(["connection", "host", "x-hop", "x-mesh-a"]);
  });
});

describe("isWebSocketHandshake", () => {
  const key = { "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" };
  const handshake = (method: string, headers: Record<string, string>) => isWebSocketHandshake(method, new Headers(headers));

  it("is a GET with Upgrade: websocket, Connection naming upgrade, version 13 and a key, in any case and list position", () => {
    expect(handshake("GET", { connection: "Upgrade", upgrade: "websocket", ...key })).toBe(true);
    expect(handshake("GET", { connection: "keep-alive, UPGRADE", upgrade: " WebSocket ", ...key })).toBe(true);
  });

  it("is not what workerd would not hand a socket to: another or a listed upgrade, no key, another version", () => {
    expect(handshake("GET", { connection: "Upgrade", upgrade: "h2c", ...key })).toBe(false);
    expect(handshake("GET", { connection: "Upgrade", upgrade: "h2c, websocket", ...key })).toBe(false);
    expect(handshake("GET", { connection: "Upgrade", upgrade: "websocket2", ...key })).toBe(false);
    expect(handshake("GET", { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13" })).toBe(false);
    expect(handshake("GET", { connection: "Upgrade", upgrade: "websocket", ...key, "sec-websocket-version": "8" })).toBe(false);
  });

  it("is not one missing Connection: upgrade, nor one with another method", () => {
    expect(handshake("GET", { upgrade: "websocket", ...key })).toBe(false);
    expect(handshake("GET", { connection: "keep-alive", upgrade: "websocket", ...key })).toBe(false);
    expect(handshake("GET", { connection: "Upgrade", ...key })).toBe(false);
    expect(handshake("POST", { connection: "Upgrade", upgrade: "websocket", ...key })).toBe(false);
    expect(handshake("HEAD", { connection: "Upgrade", upgrade: "websocket", ...key })).toBe(false);
  });
});

describe("upstreamHeaders for a WebSocket handshake", () => {
  it("asks the origin for the upgrade alone: headers the client's Connection named are still dropped", () => {
    const out = upstreamHeaders(
      new Headers({ connection: "Upgrade, x-named", upgrade: "websocket", "x-named": "hop", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" }),
      { ...ctx, webSocket: true },
    );
    expect(out.get("connection")).toBe("Upgrade");
    expect(out.get("upgrade")).toBe("websocket");
    expect(out.has("x-named")).toBe(false);
    expect(out.get("sec-websocket-key")).toBe("dGhlIHNhbXBsZSBub25jZQ==");
    expect(out.get("x-forwarded-proto")).toBe("https");
  });

  it("strips the upgrade as before when the request is not a handshake", () => {
    const out = upstreamHeaders(new Headers({ connection: "Upgrade", upgrade: "websocket" }), { ...ctx, webSocket: false });
    expect(out.has("connection")).toBe(false);
    expect(out.has("upgrade")).toBe(false);
  });
});

describe("downstreamHeaders", () => {
  it("removes hop-by-hop headers from the upstream response and keeps the rest", () => {
    const upstream = new Headers({
      connection: "x-upstream-hop",
      "x-upstream-hop": "1",
      "keep-alive": "timeout=5",
      "transfer-encoding": "chunked",
      "content-type": "text/plain",
      "cache-control": "no-store",
    });
    upstream.append("set-cookie", "a=1");
    upstream.append("set-cookie", "b=2");
    const out = downstreamHeaders(upstream);
    expect(out.has("connection")).toBe(false);
    expect(out.has("x-upstream-hop")).toBe(false);
    expect(out.has("keep-alive")).toBe(false);
    expect(out.has("transfer-encoding")).toBe(false);
    expect(out.get("content-type")).toBe("text/plain");
    expect(out.get("cache-control")).toBe("no-store");
    expect(out.getSetCookie()).toEqual(["a=1", "b=2"]);
  });

  it("does not throw on a malformed Connection header from the origin", () => {
    const out = downstreamHeaders(new Headers({ connection: "x y, x-hop", "x-hop": "1", "content-type": "text/html" }));
    expect(out.has("x-hop")).toBe(false);
    expect(out.get("content-type")).toBe("text/html");
  });

  it("hasHopByHop says whether downstreamHeaders would remove anything", () => {
    expect(hasHopByHop(new Headers({ "content-type": "text/plain", "x-origin": "a", "set-cookie": "a=1" }))).toBe(false);
    for (const name of ["connection", "keep-alive", "proxy-authenticate", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]) {
      const headers = new Headers({ "content-type": "text/plain", [name]: "x" });
      expect(hasHopByHop(headers), name).toBe(true);
      expect([...downstreamHeaders(headers).keys()]).toEqual(["content-type"]);
    }
  });
});
