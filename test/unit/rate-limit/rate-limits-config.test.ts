import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compileLimit,
  compileRateLimits,
  limitApplies,
  limitKey,
  MAX_KEY_CHARS,
  pathOf,
  policyWindow,
  refusalHeaders,
} from "../../../src/core/rate-limit/compiled-limits.js";
import { MAX_RATE_LIMITS, rateLimitSchema, type RateLimitConfig } from "../../../src/core/schema/rate-limits.js";
import { serviceConfigSchema, type ServiceConfigInput } from "../../../src/core/schema/service.js";

const routes = { hosts: ["api.example.com"] };

function issues(input: ServiceConfigInput): { path: string; message: string }[] {
  const r = serviceConfigSchema.safeParse(input);
  if (r.success) throw new Error("expected the parse to fail");
  return r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
}

function limit(input: unknown): RateLimitConfig {
  return rateLimitSchema.parse(input);
}

describe("rateLimits schema", () => {
  it("resolves defaults: scope isolate, burst one second's worth; keeps what was given", () => {
    const c = serviceConfigSchema.parse({
      routes,
      rateLimits: [
        { name: "per-ip", key: "client_ip", ratePerSecond: 2.5 },
        { name: "tenant", key: { header: "X-Tenant" }, ratePerSecond: 100, burst: 20, scope: "global", match: { pathPrefix: "/api", methods: ["post", "GET"] } },
      ],
    });
    expect(c.rateLimits).toEqual([
      { name: "per-ip", key: "client_ip", ratePerSecond: 2.5, burst: 3, scope: "isolate" },
      { name: "tenant", key: { header: "x-tenant" }, ratePerSecond: 100, burst: 20, scope: "global", match: { pathPrefix: "/api", methods: ["POST", "GET"] } },
    ]);
    expect(serviceConfigSchema.parse({ routes }).rateLimits).toBeUndefined();
  });

  it.each([
    [{ name: "a", key: "ip", ratePerSecond: 1 }, "rateLimits.0.key"],
    [{ name: "a", key: { cookie: "x" }, ratePerSecond: 1 }, "rateLimits.0.key"],
    [{ name: "a", key: { header: "bad header" }, ratePerSecond: 1 }, "rateLimits.0.key.header"],
    [{ name: "", key: "service", ratePerSecond: 1 }, "rateLimits.0.name"],
    [{ name: 'a"b', key: "service", ratePerSecond: 1 }, "rateLimits.0.name"],
    [{ name: "a", key: "service", ratePerSecond: 0 }, "rateLimits.0.ratePerSecond"],
    [{ name: "a", key: "service", ratePerSecond: 2_000_000 }, "rateLimits.0.ratePerSecond"],
    [{ name: "a", key: "service", ratePerSecond: 5000, scope: "global" }, "rateLimits.0.ratePerSecond"],
    [{ name: "a", key: "service", ratePerSecond: 1, burst: 0 }, "rateLimits.0.burst"],
    [{ name: "a", key: "service", ratePerSecond: 1, burst: 1.5 }, "rateLimits.0.burst"],
    [{ name: "a", key: "service", ratePerSecond: 1, scope: "region" }, "rateLimits.0.scope"],
    [{ name: "a", key: "service", ratePerSecond: 1, match: { pathPrefix: "api" } }, "rateLimits.0.match.pathPrefix"],
    [{ name: "a", key: "service", ratePerSecond: 1, match: { methods: [] } }, "rateLimits.0.match.methods"],
    [{ name: "a", key: "service", ratePerSecond: 1, match: { methods: ["G E T"] } }, "rateLimits.0.match.methods.0"],
    [{ name: "a", key: "service", ratePerSecond: 1, extra: true }, "rateLimits.0"],
    [{ name: "a", key: { jwtClaim: "sub" }, ratePerSecond: 1 }, "rateLimits.0.key"],
  ])("refuses %j naming the field %s", (bad, path) => {
    expect(issues({ routes, rateLimits: [bad as never] }).map((i) => i.path)).toContain(path);
  });

  it("refuses duplicate names and more than the maximum of limits", () => {
    const one = { name: "a", key: "service" as const, ratePerSecond: 1 };
    expect(issues({ routes, rateLimits: [one, one] })).toContainEqual({ path: "rateLimits.1.name", message: "duplicate limit name 'a'" });
    const many = Array.from({ length: MAX_RATE_LIMITS + 1 }, (_, i) => ({ ...one, name: `l${i}` }));
    expect(issues({ routes, rateLimits: many }).map((i) => i.path)).toContain("rateLimits");
  });

  it("takes a jwtClaim key when auth.jwt verifies the claims", () => {
    const jwt = { issuer: "https://issuer.example", audiences: ["api"], jwksUrl: "https://issuer.example/jwks" };
    const c = serviceConfigSchema.parse({ routes, auth: { jwt }, rateLimits: [{ name: "per-user", key: { jwtClaim: "sub" }, ratePerSecond: 5 }] });
    expect(c.rateLimits?.[0]?.key).toEqual({ jwtClaim: "sub" });
  });
});

describe("policyWindow: the draft's integer q per w seconds", () => {
  it.each([
    [5, 5, 1],
    [100, 100, 1],
    [0.5, 1, 2],
    [2.5, 5, 2],
    [0.1, 1, 10],
    [1 / 3, 1, 3],
    [0.001, 1, 1000],
  ])("%d/s is q=%d;w=%d", (rate, q, w) => {
    expect(policyWindow(rate)).toEqual({ q, w });
  });

  it("never promises more than the rate when no w up to 1000 holds a whole q (fast-check)", () => {
    // 0.0015/s was q=2;w=1000: a client pacing itself to that is refused every other request.
    expect(policyWindow(0.0015)).toEqual({ q: 1, w: 1000 });
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 1_000_000, noNaN: true }), (rate) => {
        const { q, w } = policyWindow(rate);
        expect(q).toBeGreaterThanOrEqual(1);
        expect(q / w).toBeLessThanOrEqual(rate * (1 + 1e-9));
      }),
      { numRuns: 500 },
    );
  });
});

describe("compiled limits", () => {
  const svc = "shop";

  it("splits isolate from global limits, keeping config order, and builds the policy once", () => {
    const c = compileRateLimits(svc, [
      limit({ name: "g", key: "service", ratePerSecond: 10, scope: "global" }),
      limit({ name: "i1", key: "client_ip", ratePerSecond: 5 }),
      limit({ name: "i2", key: "service", ratePerSecond: 0.5 }),
    ]);
    expect(c.isolate.map((l) => l.name)).toEqual(["i1", "i2"]);
    expect(c.global.map((l) => l.name)).toEqual(["g"]);
    expect(c.isolate[1]?.policy).toBe('"i2";q=1;w=2');
  });

  it("matches methods and path prefixes on segment boundaries, as routes do", () => {
    const l = compileLimit(svc, limit({ name: "w", key: "service", ratePerSecond: 1, match: { pathPrefix: "/api/", methods: ["POST"] } }));
    expect(limitApplies(l, "POST", "https://h.example/api")).toBe(true);
    expect(limitApplies(l, "POST", "https://h.example/api/orders?x=1")).toBe(true);
    expect(limitApplies(l, "POST", "https://h.example/apix")).toBe(false);
    expect(limitApplies(l, "GET", "https://h.example/api/orders")).toBe(false);
    const all = compileLimit(svc, limit({ name: "all", key: "service", ratePerSecond: 1, match: { pathPrefix: "/" } }));
    expect(limitApplies(all, "DELETE", "https://h.example/anything")).toBe(true);
    expect(pathOf("http://127.0.0.1:8787/a/b?c=/d")).toBe("/a/b");
    expect(pathOf("https://h.example")).toBe("/");
  });

  it("keys by value, falling back to the client IP when the value is missing, and hashes long values", () => {
    const headers = new Headers({ "cf-connecting-ip": "203.0.113.9", "x-tenant": "acme" });
    const src = { headers, claims: { sub: "user-1", n: 7, obj: { a: 1 } }, url: "https://h.example/p?team=red" };
    const key = (k: RateLimitConfig["key"]) => limitKey(compileLimit(svc, limit({ name: "k", key: k, ratePerSecond: 1 })), src);
    expect(key("service")).toBe("");
    expect(key("client_ip")).toBe("@203.0.113.9");
    expect(key({ header: "x-tenant" })).toBe("=acme");
    expect(key({ header: "x-missing" })).toBe("@203.0.113.9");
    expect(key({ jwtClaim: "sub" })).toBe("=user-1");
    expect(key({ jwtClaim: "n" })).toBe("=7");
    expect(key({ jwtClaim: "obj" })).toBe("@203.0.113.9");
    expect(key({ jwtClaim: "constructor" })).toBe("@203.0.113.9");
    expect(key({ query: "team" })).toBe("=red");
    expect(key({ query: "none" })).toBe("@203.0.113.9");
    expect(limitKey(compileLimit(svc, limit({ name: "k", key: "client_ip", ratePerSecond: 1 })), { headers: new Headers(), claims: null, url: "https://h/" })).toBe("@");
    // An IPv6 client by its /64, so a fresh address per request does not escape the limit; an IPv4-mapped one as IPv4.
    const v6 = (ip: string) => limitKey(compileLimit(svc, limit({ name: "k", key: "client_ip", ratePerSecond: 1 })), { headers: new Headers({ "cf-connecting-ip": ip }), claims: null, url: "https://h/" });
    expect(v6("2001:db8:1:2::a")).toBe("@2001:db8:1:2::/64");
    expect(v6("2001:DB8:1:2:ffff:0:0:9")).toBe("@2001:db8:1:2::/64");
    expect(v6("2001:db8:1:3::a")).toBe("@2001:db8:1:3::/64");
    expect(v6("::ffff:203.0.113.9")).toBe("@203.0.113.9");
    const long = limitKey(compileLimit(svc, limit({ name: "k", key: { header: "x-long" }, ratePerSecond: 1 })), {
      headers: new Headers({ "x-long": "v".repeat(5000) }),
      claims: null,
      url: "https://h/",
    });
    expect(long.length).toBeLessThanOrEqual(MAX_KEY_CHARS);
    expect(long).toMatch(/^=#/);
  });

  it("answers a refusal with Retry-After and the draft's structured fields, in whole seconds of at least 1", () => {
    const l = compileLimit(svc, limit({ name: "per-ip", key: "client_ip", ratePerSecond: 100, burst: 200 }));
    expect(refusalHeaders(l, 10)).toEqual({ "retry-after": "1", "ratelimit-policy": '"per-ip";q=100;w=1', ratelimit: '"per-ip";r=0;t=1' });
    expect(refusalHeaders(l, 2_001)).toMatchObject({ "retry-after": "3", ratelimit: '"per-ip";r=0;t=3' });
  });
});
