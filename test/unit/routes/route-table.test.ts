import { describe, expect, it, vi } from "vitest";
import {
  RouteTable,
  hostWithoutPort,
  normalizePrefix,
  upstreamPath,
  type RouteMatch,
  type ServiceRoutes,
} from "../../../src/core/routes/route-table.js";
import { defined } from "../defined.js";

function svc(service: string, hosts: string[], pathPrefixes: string[], stripPrefix = false): ServiceRoutes {
  return { service, hosts, pathPrefixes, stripPrefix };
}

function serviceFor(table: RouteTable, host: string, path: string): string | undefined {
  return table.match(host, path)?.service;
}

describe("normalizePrefix", () => {
  it.each([
    ["/api/", "/api"],
    ["/api///", "/api"],
    ["/api", "/api"],
    ["/", "/"],
    ["//", "/"],
    ["", "/"],
  ])("%j -> %j", (input, expected) => {
    expect(normalizePrefix(input)).toBe(expected);
  });

  // A request path reaches the table as the URL parser writes it (percent-encoded, backslashes as
  // slashes, dot segments resolved); a rule kept as written could never equal one, so never matched.
  it.each([
    ["/café", "/caf%C3%A9"],
    ['/a"b/', "/a%22b"],
    ["/{tenant}", "/%7Btenant%7D"],
    ["/a<b>`c", "/a%3Cb%3E%60c"],
    ["/x\\y", "/x/y"],
    ["/d/./e", "/d/e"],
    ["/d/%2e/e", "/d/e"],
    ["/caf%C3%A9", "/caf%C3%A9"],
    ["/caf%c3%a9", "/caf%C3%A9"],
    ["/%61dmin", "/admin"],
    ["//twice", "//twice"],
    ["/a:b@c!$&'()*+,;=~-_.", "/a:b@c!$&'()*+,;=~-_."],
  ])("%j matches the request path the URL parser makes of it: %j", (input, expected) => {
    expect(normalizePrefix(input)).toBe(expected);
    const table = new RouteTable([svc("s", [], [input])]);
    expect(serviceFor(table, "h", new URL(`http://h${input}/more`).pathname)).toBe("s");
  });

  it("leaves a prefix with a '..' segment as written: it matches nothing, as before, rather than claiming its parent", () => {
    for (const input of ["/x/..", "/x/%2E%2e/y", "/x/.%2e"]) expect(normalizePrefix(input)).toBe(input);
    const table = new RouteTable([svc("dots", [], ["/x/.."]), svc("root", [], ["/"])]);
    expect(table.conflicts).toEqual([]);
    expect(serviceFor(table, "h", "/anything")).toBe("root");
  });
});

describe("RouteTable.match", () => {
  it("a rule naming the exact host beats a host-less rule, even with a shorter prefix", () => {
    const table = new RouteTable([svc("anyhost", [], ["/api/v1"]), svc("exact", ["api.example.com"], [])]);
    expect(serviceFor(table, "api.example.com", "/api/v1/users")).toBe("exact");
    expect(serviceFor(table, "other.example.com", "/api/v1/users")).toBe("anyhost");
  });

  it("falls through to host-less rules when the exact host has no matching prefix", () => {
    const table = new RouteTable([svc("v1", ["api.example.com"], ["/v1"]), svc("v2", [], ["/v2"])]);
    expect(serviceFor(table, "api.example.com", "/v1/x")).toBe("v1");
    expect(serviceFor(table, "api.example.com", "/v2/x")).toBe("v2");
    expect(serviceFor(table, "api.example.com", "/v3/x")).toBeUndefined();
  });

  it("the longest matching prefix wins, regardless of declaration order", () => {
    const table = new RouteTable([
      svc("root", [], ["/"]),
      svc("users-admin", [], ["/api/users/admin"]),
      svc("api", [], ["/api"]),
      svc("users", [], ["/api/users"]),
    ]);
    expect(serviceFor(table, "h", "/api/users/admin/1")).toBe("users-admin");
    expect(serviceFor(table, "h", "/api/users/42")).toBe("users");
    expect(serviceFor(table, "h", "/api/orders")).toBe("api");
    expect(serviceFor(table, "h", "/static/app.js")).toBe("root");
  });

  it("matches prefixes only on segment boundaries", () => {
    const table = new RouteTable([svc("api", [], ["/api"])]);
    expect(serviceFor(table, "h", "/api")).toBe("api");
    expect(serviceFor(table, "h", "/api/")).toBe("api");
    expect(serviceFor(table, "h", "/api/x")).toBe("api");
    expect(serviceFor(table, "h", "/api/x/y/z")).toBe("api");
    expect(serviceFor(table, "h", "/apix")).toBeUndefined();
    expect(serviceFor(table, "h", "/apix/y")).toBeUndefined();
    expect(serviceFor(table, "h", "/ap")).toBeUndefined();
    expect(serviceFor(table, "h", "/")).toBeUndefined();
  });

  it("normalises trailing slashes on both rules and request paths", () => {
    const table = new RouteTable([svc("api", [], ["/api/"]), svc("docs", [], ["/docs"])]);
    expect(table.match("h", "/api")?.prefix).toBe("/api");
    expect(serviceFor(table, "h", "/api")).toBe("api");
    expect(serviceFor(table, "h", "/api/")).toBe("api");
    expect(serviceFor(table, "h", "/docs/")).toBe("docs");
    expect(serviceFor(table, "h", "/docs//")).toBe("docs");
  });

  it("a host-only rule matches every path on that host with prefix '/'", () => {
    const table = new RouteTable([svc("web", ["www.example.com"], [])]);
    expect(table.match("www.example.com", "/")).toEqual({ service: "web", prefix: "/", stripPrefix: false });
    expect(serviceFor(table, "www.example.com", "/a/b")).toBe("web");
    expect(serviceFor(table, "example.com", "/a/b")).toBeUndefined();
  });

  it("matches hosts case-insensitively", () => {
    const table = new RouteTable([svc("web", ["WWW.Example.com"], [])]);
    expect(serviceFor(table, "www.example.COM", "/")).toBe("web");
  });

  it("matches a fully qualified Host with its trailing dot as the same host (RFC 1034), exact and wildcard alike", () => {
    const table = new RouteTable([svc("web", ["www.example.com"], []), svc("wild", ["*.example.net"], [])]);
    expect(serviceFor(table, "www.example.com.", "/")).toBe("web");
    expect(serviceFor(table, "a.example.net.", "/")).toBe("wild");
    expect(serviceFor(table, "www.example.com..", "/")).toBeUndefined();
  });

  it("compares percent-encodings normalized: an unreserved character's decoded, hex digits in either case (RFC 3986 §6.2.2)", () => {
    const table = new RouteTable([svc("admin", [], ["/admin"]), svc("menu", [], ["/caf%c3%a9"]), svc("root", [], ["/"])]);
    expect(serviceFor(table, "h", "/%61dmin/users")).toBe("admin");
    expect(serviceFor(table, "h", "/%61%64%6D%69%6E")).toBe("admin");
    expect(serviceFor(table, "h", "/caf%C3%A9/x")).toBe("menu");
    // Reserved characters stay encoded: %2F is not a segment boundary.
    expect(serviceFor(table, "h", "/admin%2Fx")).toBe("root");
    expect(serviceFor(table, "h", "/%41dmin")).toBe("root");
    expect(table.match("h", "/%61dmin")?.prefix).toBe("/admin");
  });

  it("keeps paths case-sensitive", () => {
    const table = new RouteTable([svc("api", [], ["/api"])]);
    expect(serviceFor(table, "h", "/API/x")).toBeUndefined();
  });

  describe("a request path of thousands of segments, or a Host of thousands of labels", () => {
    /**
     * What a lookup costs is the string keys it hashes: one Map probe per
     * candidate prefix, each hashing its whole key. Counted over the real Maps
     * (a spy that calls through), so the bound is on the work done, not on a
     * clock shared with other tests.
     */
    function charsProbed(table: RouteTable, host: string, path: string): { service: string | undefined; chars: number } {
      const get = vi.spyOn(Map.prototype, "get");
      try {
        const service = serviceFor(table, host, path);
        const chars = get.mock.calls.reduce((n, [key]) => n + (typeof key === "string" ? key.length : 0), 0);
        return { service, chars };
      } finally {
        get.mockRestore();
      }
    }

    // 16 KB, the URL length Cloudflare accepts: 8,000 one-letter segments, or one long run of slashes.
    const manySegments = `/api/v1${"/a".repeat(8_000)}`;
    const manySlashes = `/api/v1/x${"/".repeat(16_000)}y`;

    it("probes only prefixes no longer than the table's longest, not one per segment of the path", () => {
      const table = new RouteTable([svc("v1", [], ["/api/v1"]), svc("root", [], ["/"]), svc("wild", ["*.example.com"], ["/api"])]);
      for (const path of [manySegments, manySlashes]) {
        for (const host of ["h", "a.b.example.com"]) {
          const { service, chars } = charsProbed(table, host, path);
          expect(service).toBe(host === "h" ? "v1" : "wild");
          // Was the sum of every prefix of the path: about 64 million characters for 8,000 segments (100 ms and more).
          expect(chars, `${host} ${path.slice(0, 12)}…`).toBeLessThan(1_000);
        }
      }
    });

    it("probes only host suffixes no longer than the table's longest host, for a Host of thousands of labels", () => {
      const table = new RouteTable([svc("exact", ["api.example.com"], []), svc("wild", ["*.example.com"], ["/"]), svc("v1", [], ["/api/v1"])]);
      // A Host header the URL parser accepts: 8,000 labels, 16 KB.
      for (const [host, expected] of [
        [`${"a.".repeat(8_000)}example.com`, "wild"],
        [`${"a.".repeat(8_000)}example.org`, "v1"],
      ] as const) {
        const { service, chars } = charsProbed(table, host, "/api/v1/x");
        expect(service).toBe(expected);
        // Was one probe per label, each hashing the rest of the host: about 64 million characters (174 ms in Node, 243 ms in workerd).
        expect(chars, host.slice(-12)).toBeLessThan(1_000);
      }
      expect(serviceFor(table, "b.api.example.com", "/")).toBe("wild");
      expect(serviceFor(table, "api.example.com", "/")).toBe("exact");
    });

    it("still matches a prefix that ends exactly at the bound, or a path that is only the prefix plus slashes", () => {
      const table = new RouteTable([svc("short", [], ["/a"]), svc("long", [], ["/a/bcd"])]);
      expect(serviceFor(table, "h", `/a/bcd${"/x".repeat(100)}`)).toBe("long");
      expect(serviceFor(table, "h", `/a/bcde${"/x".repeat(100)}`)).toBe("short");
      expect(serviceFor(table, "h", `/a/bc${"/x".repeat(100)}`)).toBe("short");
      expect(serviceFor(table, "h", `/a/bcd${"/".repeat(100)}`)).toBe("long");
      expect(serviceFor(table, "h", `/b${"/x".repeat(100)}`)).toBeUndefined();
    });
  });

  describe("wildcard hosts", () => {
    const table = new RouteTable([svc("wild", ["*.example.com"], [])]);

    it("*.example.com matches one or more labels under example.com", () => {
      expect(serviceFor(table, "a.example.com", "/")).toBe("wild");
      expect(serviceFor(table, "a.b.example.com", "/x")).toBe("wild");
      expect(serviceFor(table, "A.EXAMPLE.COM", "/x")).toBe("wild");
    });

    it("does not match the bare parent domain or look-alike domains", () => {
      expect(serviceFor(table, "example.com", "/")).toBeUndefined();
      expect(serviceFor(table, "badexample.com", "/")).toBeUndefined();
      expect(serviceFor(table, "a.example.com.evil.net", "/")).toBeUndefined();
      expect(serviceFor(table, "com", "/")).toBeUndefined();
    });

    it("exact host beats wildcard, wildcard beats host-less, nearest parent wildcard first", () => {
      const t = new RouteTable([
        svc("anyhost", [], ["/"]),
        svc("wide", ["*.example.com"], []),
        svc("narrow", ["*.b.example.com"], []),
        svc("exact", ["a.b.example.com"], []),
      ]);
      expect(serviceFor(t, "a.b.example.com", "/")).toBe("exact");
      expect(serviceFor(t, "c.b.example.com", "/")).toBe("narrow");
      expect(serviceFor(t, "x.c.b.example.com", "/")).toBe("narrow");
      expect(serviceFor(t, "c.example.com", "/")).toBe("wide");
      expect(serviceFor(t, "b.example.com", "/")).toBe("wide");
      expect(serviceFor(t, "example.org", "/")).toBe("anyhost");
    });

    it("applies longest-prefix matching within a wildcard host", () => {
      const t = new RouteTable([svc("api", ["*.example.com"], ["/api"]), svc("web", ["*.example.com"], ["/"])]);
      expect(serviceFor(t, "x.example.com", "/api/1")).toBe("api");
      expect(serviceFor(t, "x.example.com", "/apiary")).toBe("web");
    });
  });

  describe("conflicts", () => {
    it("records a second service claiming the same host and prefix; the first keeps it", () => {
      const table = new RouteTable([svc("first", ["a.example.com"], ["/api"]), svc("second", ["a.example.com"], ["/api/"])]);
      expect(table.conflicts).toEqual([{ host: "a.example.com", prefix: "/api", services: ["first", "second"] }]);
      expect(serviceFor(table, "a.example.com", "/api/x")).toBe("first");
    });

    it("records host-less conflicts with host null", () => {
      const table = new RouteTable([svc("first", [], ["/x"]), svc("second", [], ["/x"])]);
      expect(table.conflicts).toEqual([{ host: null, prefix: "/x", services: ["first", "second"] }]);
    });

    it("treats hosts differing only in case as the same host", () => {
      const table = new RouteTable([svc("first", ["A.example.com"], []), svc("second", ["a.EXAMPLE.com"], [])]);
      expect(table.conflicts).toHaveLength(1);
      expect(defined(table.conflicts[0], "conflict").services).toEqual(["first", "second"]);
    });

    it("records a wildcard conflict with the wildcard host as given", () => {
      const table = new RouteTable([svc("first", ["*.example.com"], []), svc("second", ["*.example.com"], [])]);
      expect(table.conflicts).toEqual([{ host: "*.example.com", prefix: "/", services: ["first", "second"] }]);
    });

    it("does not flag the same prefix on different hosts, host-less vs hosted, or a service repeating itself", () => {
      const table = new RouteTable([
        svc("a", ["a.example.com"], ["/api"]),
        svc("b", ["b.example.com"], ["/api"]),
        svc("c", [], ["/api"]),
        svc("d", ["*.example.com"], ["/api"]),
        svc("e", ["e.example.com"], ["/api", "/api/"]),
      ]);
      expect(table.conflicts).toEqual([]);
    });
  });

  it("matches correctly in a table of 10,000 routes", () => {
    const services: ServiceRoutes[] = [];
    for (let i = 0; i < 10_000; i++) {
      if (i % 4 === 0) services.push(svc(`host-${i}`, [`svc${i}.example.com`], []));
      else if (i % 4 === 1) services.push(svc(`wild-${i}`, [`*.t${i}.example.net`], [`/p${i}`]));
      else services.push(svc(`path-${i}`, [], [`/team${i % 100}/svc${i}`], i % 2 === 0));
    }
    services.push(svc("fallback", [], ["/"]));
    const table = new RouteTable(services);
    expect(table.conflicts).toEqual([]);

    for (const i of [0, 4, 4444, 9996]) {
      expect(serviceFor(table, `svc${i}.example.com`, "/anything")).toBe(`host-${i}`);
    }
    for (const i of [1, 5001, 9997]) {
      expect(serviceFor(table, `x.t${i}.example.net`, `/p${i}/a`)).toBe(`wild-${i}`);
      expect(serviceFor(table, `x.t${i}.example.net`, `/p${i}x`)).toBe("fallback");
    }
    for (const i of [2, 3, 5002, 9999]) {
      const match = defined(table.match("h", `/team${i % 100}/svc${i}/deep/path`), `match for ${i}`);
      expect(match.service).toBe(`path-${i}`);
      expect(match.stripPrefix).toBe(i % 2 === 0);
      // A neighbour's prefix that merely starts with ours must not match it.
      expect(serviceFor(table, "h", `/team${i % 100}/svc${i}0`)).toBe("fallback");
    }
    expect(serviceFor(table, "svc1.example.com", "/nope")).toBe("fallback");
  });
});

describe("upstreamPath", () => {
  const match = (prefix: string, stripPrefix: boolean): RouteMatch => ({ service: "s", prefix, stripPrefix });

  it("keeps the path when stripPrefix is off", () => {
    expect(upstreamPath("/api/users/1", match("/api", false))).toBe("/api/users/1");
  });

  it("removes the matched prefix when stripPrefix is on", () => {
    expect(upstreamPath("/api/users/1", match("/api", true))).toBe("/users/1");
    expect(upstreamPath("/api/v1/x", match("/api/v1", true))).toBe("/x");
  });

  it("sends '/' when the path is exactly the prefix", () => {
    expect(upstreamPath("/api", match("/api", true))).toBe("/");
    expect(upstreamPath("/api/", match("/api", true))).toBe("/");
  });

  it("strips the prefix from the path it matched, with its escapes normalized, and leaves an unstripped path as it came", () => {
    const table = new RouteTable([svc("strip", [], ["/api"], true), svc("keep", [], ["/keep"])]);
    const stripped = defined(table.match("h", "/%61pi/x%2fy%7e"), "match");
    expect(upstreamPath("/%61pi/x%2fy%7e", stripped)).toBe("/x%2Fy~");
    const kept = defined(table.match("h", "/k%65ep/x%2fy"), "match");
    expect(upstreamPath("/k%65ep/x%2fy", kept)).toBe("/k%65ep/x%2fy");
  });

  it("leaves the path alone for a root prefix", () => {
    expect(upstreamPath("/a/b", match("/", true))).toBe("/a/b");
  });

  it("works end to end with a table match", () => {
    const table = new RouteTable([svc("api", [], ["/api/"], true)]);
    const m = defined(table.match("h", "/api/orders/7"), "match");
    expect(upstreamPath("/api/orders/7", m)).toBe("/orders/7");
  });
});

describe("hostWithoutPort", () => {
  it.each([
    ["example.com", "example.com"],
    ["example.com:8080", "example.com"],
    ["127.0.0.1:8787", "127.0.0.1"],
    ["[::1]", "[::1]"],
    ["[::1]:8443", "[::1]"],
    ["[2001:db8::1]:80", "[2001:db8::1]"],
    ["[::1", "[::1"],
  ])("%j -> %j", (input, expected) => {
    expect(hostWithoutPort(input)).toBe(expected);
  });
});
