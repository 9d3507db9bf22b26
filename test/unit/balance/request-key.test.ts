import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cookieValue, requestHashKey } from "../../../src/core/balance/hash/request-key.js";

describe("request hash key", () => {
  const url = new URL("https://api.example.com/carts/42?user=u7&x=1");
  const headers = new Headers({ "cf-connecting-ip": "203.0.113.9", "x-user": "alice", cookie: "theme=dark; session=s-123 ;other=x" });

  it("reads each hashOn source", () => {
    expect(requestHashKey("client_ip", headers, url)).toBe("203.0.113.9");
    expect(requestHashKey("path", headers, url)).toBe("/carts/42");
    expect(requestHashKey({ header: "x-user" }, headers, url)).toBe("alice");
    expect(requestHashKey({ query: "user" }, headers, url)).toBe("u7");
    expect(requestHashKey({ cookie: "session" }, headers, url)).toBe("s-123");
  });

  it("says undefined when the request lacks the key or it is empty (the balancer then draws at random)", () => {
    const bare = new Headers({ "x-user": "" });
    expect(requestHashKey("client_ip", bare, url)).toBeUndefined();
    expect(requestHashKey({ header: "x-user" }, bare, url)).toBeUndefined();
    expect(requestHashKey({ query: "nope" }, bare, url)).toBeUndefined();
    expect(requestHashKey({ cookie: "session" }, bare, url)).toBeUndefined();
  });

  it("matches a cookie by its whole name, not a suffix or prefix", () => {
    expect(cookieValue("xsession=1; session=2", "session")).toBe("2");
    expect(cookieValue("session2=1", "session")).toBeNull();
    expect(cookieValue("a=1;b", "b")).toBeNull();
    expect(cookieValue("b=", "b")).toBe("");
  });

  it("reads a hostile header in time linear in its length: many pairs without '=' are not each rescanned to the end", () => {
    // Cookie is read on every request of a service with cookie affinity or hashOn cookie. Each pair used to
    // search for the next '=' from its own start, so ';' × n (or with one '=' at the very end) cost n²/2:
    // Node took 68 ms for a 128 KB header and seconds for 1 MB. A linear read takes a few ms for 1 MB.
    for (const header of [";".repeat(1 << 20), `${";".repeat(1 << 20)}x=1`, `${"a;".repeat(1 << 19)}session=ok`]) {
      const started = performance.now();
      const value = cookieValue(header, "session");
      expect(performance.now() - started).toBeLessThan(500);
      expect(value).toBe(header.endsWith("session=ok") ? "ok" : null);
    }
  });

  it("reads what splitting the header into pairs reads, for any header (fast-check)", () => {
    const byPairs = (header: string, name: string): string | null => {
      for (const pair of header.split(";")) {
        const eq = pair.indexOf("=");
        if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
      }
      return null;
    };
    const piece = fc.constantFrom(";", "=", " ", "a", "b", "ab", "session", "x");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), fc.constantFrom("a", "ab", "session", ""), (parts, name) => {
        const header = parts.join("");
        expect(cookieValue(header, name)).toBe(byPairs(header, name));
      }),
      { numRuns: 2000 },
    );
  });
});
