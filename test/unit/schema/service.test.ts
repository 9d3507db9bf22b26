import { describe, expect, it } from "vitest";
import type * as z from "../../../src/core/schema/zod.js";
import {
  healthCheckSchema,
  serviceConfigSchema,
  serviceNameSchema,
  type ServiceConfigInput,
} from "../../../src/core/schema/service.js";

/** The issues of a failed parse, as "dotted.path: message" lines for readable assertions. */
function issuesOf(result: { success: boolean; error?: z.core.$ZodError }): { path: string; message: string }[] {
  if (result.success || result.error === undefined) throw new Error("expected the parse to fail");
  return result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
}

function parseOk(input: ServiceConfigInput) {
  const result = serviceConfigSchema.safeParse(input);
  if (!result.success) throw new Error(`expected a valid config: ${JSON.stringify(result.error.issues)}`);
  return result.data;
}

const minimal: ServiceConfigInput = { routes: { hosts: ["api.example.com"] } };

describe("serviceConfigSchema defaults", () => {
  it("fills every default from a minimal definition", () => {
    expect(parseOk(minimal)).toEqual({
      routes: { hosts: ["api.example.com"], pathPrefixes: [], stripPrefix: false },
      balancer: "round_robin",
      routing: { mode: "snapshot" },
      healthCheck: {
        path: "/healthz",
        intervalSeconds: 10,
        timeoutMs: 2000,
        expectedStatuses: [200],
        healthyThreshold: 2,
        unhealthyThreshold: 2,
      },
      retry: { attempts: 3, perTryTimeoutMs: 5000, bodyIdleTimeoutMs: 30000, readAheadMs: 100, retryOn: ["connect-failure", "timeout", "502", "503", "504"], budget: { percent: 20, minPerSecond: 10 } },
      lease: { ttlSeconds: 30, deregisterAfterSeconds: 300 },
      outlier: { consecutiveFailures: 5, baseEjectionSeconds: 30, maxEjectionSeconds: 300 },
      panic: { routeToAllWhenNoneHealthy: false },
      slowStartSeconds: 0,
      responseHeaders: "mesh",
    });
  });

  it("fills defaults inside a partly given section", () => {
    const config = parseOk({ ...minimal, healthCheck: { path: "/ready" }, lease: { ttlSeconds: 60 } });
    expect(config.healthCheck.path).toBe("/ready");
    expect(config.healthCheck.intervalSeconds).toBe(10);
    expect(config.lease).toEqual({ ttlSeconds: 60, deregisterAfterSeconds: 300 });
  });

  it("keeps explicit values", () => {
    const config = parseOk({
      routes: { pathPrefixes: ["/api"], stripPrefix: true },
      balancer: "weighted_round_robin",
      routing: { mode: "strict" },
      retry: { attempts: 1, retryOn: ["5xx"] },
      panic: { routeToAllWhenNoneHealthy: true },
    });
    expect(config.balancer).toBe("weighted_round_robin");
    expect(config.routing.mode).toBe("strict");
    expect(config.retry).toEqual({ attempts: 1, perTryTimeoutMs: 5000, bodyIdleTimeoutMs: 30000, readAheadMs: 100, retryOn: ["5xx"], budget: { percent: 20, minPerSecond: 10 } });
    expect(config.routes.stripPrefix).toBe(true);
    expect(config.panic.routeToAllWhenNoneHealthy).toBe(true);
  });

  it("lowercases hosts", () => {
    expect(parseOk({ routes: { hosts: ["API.Example.COM", "*.Example.com"] } }).routes.hosts).toEqual([
      "api.example.com",
      "*.example.com",
    ]);
  });
});

describe("serviceConfigSchema validation", () => {
  it("rejects unknown keys at the top level and inside sections", () => {
    expect(issuesOf(serviceConfigSchema.safeParse({ ...minimal, bogus: 1 }))).toEqual([
      expect.objectContaining({ path: "" }),
    ]);
    expect(issuesOf(serviceConfigSchema.safeParse({ routes: { hosts: ["a.com"], extra: true } }))[0]?.path).toBe("routes");
    expect(issuesOf(serviceConfigSchema.safeParse({ ...minimal, retry: { tries: 3 } }))[0]?.path).toBe("retry");
    expect(issuesOf(serviceConfigSchema.safeParse({ ...minimal, healthCheck: { url: "/x" } }))[0]?.path).toBe("healthCheck");
    expect(issuesOf(serviceConfigSchema.safeParse({ ...minimal, routing: { mode: "snapshot", x: 1 } }))[0]?.path).toBe("routing");
  });

  it("requires routes, with at least one of hosts or pathPrefixes", () => {
    expect(issuesOf(serviceConfigSchema.safeParse({}))[0]?.path).toBe("routes");
    expect(issuesOf(serviceConfigSchema.safeParse({ routes: {} }))).toEqual([
      { path: "routes.hosts", message: "at least one of hosts or pathPrefixes is required" },
    ]);
    expect(issuesOf(serviceConfigSchema.safeParse({ routes: { hosts: [], pathPrefixes: [] } }))[0]?.path).toBe("routes.hosts");
    expect(serviceConfigSchema.safeParse({ routes: { pathPrefixes: ["/only-path"] } }).success).toBe(true);
  });

  it("takes retry.requestTimeoutMs from 50 to 600,000 ms, absent unless set, and names the field when it is out of range", () => {
    const parsed = serviceConfigSchema.safeParse({ ...minimal, retry: { requestTimeoutMs: 2_500 } });
    expect(parsed.success && parsed.data.retry.requestTimeoutMs).toBe(2_500);
    expect(serviceConfigSchema.parse(minimal).retry.requestTimeoutMs).toBeUndefined();
    for (const bad of [49, 600_001, 1.5, "2500", null]) {
      expect(issuesOf(serviceConfigSchema.safeParse({ ...minimal, retry: { requestTimeoutMs: bad } }))[0]?.path).toBe("retry.requestTimeoutMs");
    }
  });

  it("rejects a bad retryOn value with a path naming the field and index", () => {
    const issues = issuesOf(serviceConfigSchema.safeParse({ ...minimal, retry: { retryOn: ["5xx", "404"] } }));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe("retry.retryOn.1");
    expect(issues[0]?.message).toContain("5xx");
  });

  it.each([["connect-failure"], ["timeout"], ["5xx"], ["500"], ["503"], ["599"]])("accepts retryOn %j", (cond) => {
    expect(serviceConfigSchema.safeParse({ ...minimal, retry: { retryOn: [cond] } }).success).toBe(true);
  });

  it("takes a status written as a number as the same condition, kept as its string", () => {
    const parsed = serviceConfigSchema.safeParse({ ...minimal, retry: { retryOn: ["timeout", 502, 503] } });
    expect(parsed.success && parsed.data.retry.retryOn).toEqual(["timeout", "502", "503"]);
  });

  it.each([[404], [600], [503.5], [-503]])("rejects retryOn %j, naming the field, the index and what a status must be", (cond) => {
    const issues = issuesOf(serviceConfigSchema.safeParse({ ...minimal, retry: { retryOn: ["5xx", cond] } }));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe("retry.retryOn.1");
    expect(issues[0]?.message).toMatch(/5xx/);
  });

  it.each([["4xx"], ["429"], ["600"], ["50"], ["reset"], [""]])("rejects retryOn %j", (cond) => {
    expect(serviceConfigSchema.safeParse({ ...minimal, retry: { retryOn: [cond] } }).success).toBe(false);
  });

  it("refuses path prefixes under /_mesh, which belongs to the control plane", () => {
    for (const prefix of ["/_mesh", "/_mesh/", "/_mesh/v1/services"]) {
      const issues = issuesOf(serviceConfigSchema.safeParse({ routes: { pathPrefixes: ["/ok", prefix] } }));
      expect(issues).toEqual([{ path: "routes.pathPrefixes.1", message: "'/_mesh' is reserved for the control plane" }]);
    }
    expect(serviceConfigSchema.safeParse({ routes: { pathPrefixes: ["/_meshy"] } }).success).toBe(true);
  });

  it.each([["api"], ["/a b"], ["/a?b=1"], ["/a#frag"]])("rejects path prefix %j", (prefix) => {
    expect(issuesOf(serviceConfigSchema.safeParse({ routes: { pathPrefixes: [prefix] } }))[0]?.path).toBe(
      "routes.pathPrefixes.0",
    );
  });

  it.each([
    ["-bad.example.com"],
    ["a_b.example.com"],
    ["a.example.com:8080"],
    ["*"],
    ["a.*.example.com"],
    [""],
    ["a..b"],
    ["a..b.example.com"],
    [".example.com"],
    ["example.com."],
    ["*.com"],
    ["*.COM"],
    ["*."],
    ["*.*.example.com"],
    ["bad-.example.com"],
    [`${"a".repeat(64)}.example.com`],
  ])(
    "rejects host %j",
    (host) => {
      expect(issuesOf(serviceConfigSchema.safeParse({ routes: { hosts: [host] } }))[0]?.path).toBe("routes.hosts.0");
    },
  );

  it.each([["*.example.com"], ["*.a.b"], ["localhost"], ["xn--bcher-kva.example"], [`${"a".repeat(63)}.example.com`]])(
    "accepts host %j",
    (host) => {
      expect(serviceConfigSchema.safeParse({ routes: { hosts: [host] } }).success).toBe(true);
    },
  );

  it("accepts the catch-all prefix '/', the default service", () => {
    expect(parseOk({ routes: { pathPrefixes: ["/"] } }).routes.pathPrefixes).toEqual(["/"]);
  });

  it("stores a path prefix as a request's URL carries it, and a stored config parses to itself", () => {
    const config = parseOk({
      routes: { pathPrefixes: ["/café", "/a/./b/../c", "/x\\y", "//z"] },
      rateLimits: [{ name: "l", key: "service", ratePerSecond: 1, match: { pathPrefix: "/{t}" } }],
    });
    expect(config.routes.pathPrefixes).toEqual(["/caf%C3%A9", "/a/c", "/x/y", "//z"]);
    expect(config.rateLimits?.[0]?.match?.pathPrefix).toBe("/%7Bt%7D");
    expect(parseOk(JSON.parse(JSON.stringify(config)) as ServiceConfigInput)).toEqual(config);
  });

  it("bounds a path prefix once percent-encoded, as it is stored", () => {
    // 200 characters sent, 1,200 stored.
    expect(issuesOf(serviceConfigSchema.safeParse({ routes: { pathPrefixes: [`/${"é".repeat(200)}`] } })).map((i) => i.path)).toEqual([
      "routes.pathPrefixes.0",
    ]);
  });

  // Issue 9 #4: every string, array and record is bounded; oversize input is refused naming the field.
  const big = (n: number) => `/${"p".repeat(n - 1)}`;
  it.each<[string, ServiceConfigInput, string]>([
    ["healthCheck.path over 1,024", { ...minimal, healthCheck: { path: big(1025) } }, "healthCheck.path"],
    ["healthCheck.path of 100 KB", { ...minimal, healthCheck: { path: big(100_000) } }, "healthCheck.path"],
    ["a path prefix over 1,024", { routes: { pathPrefixes: [big(1025)] } }, "routes.pathPrefixes.0"],
    ["101 path prefixes", { routes: { pathPrefixes: Array.from({ length: 101 }, (_, i) => `/p${i}`) } }, "routes.pathPrefixes"],
    ["a host over 253", { routes: { hosts: [`${"a.".repeat(127)}com`] } }, "routes.hosts.0"],
    ["101 hosts", { routes: { hosts: Array.from({ length: 101 }, (_, i) => `h${i}.example.com`) } }, "routes.hosts"],
    ["21 retryOn entries", { ...minimal, retry: { retryOn: Array.from({ length: 21 }, () => "503") } }, "retry.retryOn"],
    ["a 100 KB retryOn entry", { ...minimal, retry: { retryOn: ["5".repeat(100_000)] } }, "retry.retryOn.0"],
    ["51 expectedStatuses", { ...minimal, healthCheck: { expectedStatuses: Array.from({ length: 51 }, () => 200) } }, "healthCheck.expectedStatuses"],
  ])("refuses %s, naming the field", (_what, input, path) => {
    expect(issuesOf(serviceConfigSchema.safeParse(input)).map((i) => i.path)).toContain(path);
  });

  it("accepts every field at its bound", () => {
    const config = parseOk({
      routes: {
        hosts: Array.from({ length: 100 }, (_, i) => `h${i}.example.com`),
        pathPrefixes: [big(1024), ...Array.from({ length: 99 }, (_, i) => `/p${i}`)],
      },
      healthCheck: { path: big(1024), expectedStatuses: Array.from({ length: 50 }, () => 200) },
      retry: { retryOn: Array.from({ length: 20 }, () => "503") },
    });
    expect(config.healthCheck.path).toHaveLength(1024);
  });

  it("requires timeoutMs to be shorter than the check interval", () => {
    expect(issuesOf(serviceConfigSchema.safeParse({ ...minimal, healthCheck: { intervalSeconds: 1 } }))).toEqual([
      { path: "healthCheck.timeoutMs", message: "timeoutMs must be shorter than intervalSeconds" },
    ]);
    expect(healthCheckSchema.safeParse({ intervalSeconds: 2, timeoutMs: 2000 }).success).toBe(false);
    expect(healthCheckSchema.safeParse({ intervalSeconds: 2, timeoutMs: 1999 }).success).toBe(true);
  });

  it("rejects out-of-range numbers and non-integers with the field's path", () => {
    expect(issuesOf(serviceConfigSchema.safeParse({ ...minimal, retry: { attempts: 0 } }))[0]?.path).toBe("retry.attempts");
    expect(issuesOf(serviceConfigSchema.safeParse({ ...minimal, retry: { attempts: 11 } }))[0]?.path).toBe("retry.attempts");
    expect(issuesOf(serviceConfigSchema.safeParse({ ...minimal, lease: { ttlSeconds: 4 } }))[0]?.path).toBe("lease.ttlSeconds");
    for (const readAheadMs of [-1, 5_001, 1.5, "100", null]) {
      expect(issuesOf(serviceConfigSchema.safeParse({ ...minimal, retry: { readAheadMs } }))[0]?.path).toBe("retry.readAheadMs");
    }
    expect(parseOk({ ...minimal, retry: { readAheadMs: 0 } }).retry.readAheadMs).toBe(0);
    expect(parseOk({ ...minimal, retry: { readAheadMs: 5_000 } }).retry.readAheadMs).toBe(5_000);
    expect(issuesOf(serviceConfigSchema.safeParse({ ...minimal, outlier: { consecutiveFailures: 1.5 } }))[0]?.path).toBe(
      "outlier.consecutiveFailures",
    );
    expect(issuesOf(serviceConfigSchema.safeParse({ ...minimal, healthCheck: { expectedStatuses: [] } }))[0]?.path).toBe(
      "healthCheck.expectedStatuses",
    );
  });

  it("rejects an unknown balancer or routing mode", () => {
    expect(issuesOf(serviceConfigSchema.safeParse({ ...minimal, balancer: "fastest" }))[0]?.path).toBe("balancer");
    expect(issuesOf(serviceConfigSchema.safeParse({ ...minimal, routing: { mode: "eventual" } }))[0]?.path).toBe("routing.mode");
  });

  it.each([[null], [5], [true], [["mesh"]], [{}], ["MESH"], ["mesh "], [""], ["x".repeat(300)]])("rejects responseHeaders %j with its path", (value) => {
    expect(issuesOf(serviceConfigSchema.safeParse({ ...minimal, responseHeaders: value }))).toEqual([
      { path: "responseHeaders", message: expect.any(String) as unknown },
    ]);
  });
});

describe("serviceNameSchema", () => {
  it.each([["a"], ["payments"], ["svc-2"], ["a".repeat(63)]])("accepts %j", (name) => {
    expect(serviceNameSchema.safeParse(name).success).toBe(true);
  });

  it.each([[""], ["-a"], ["a-"], ["Payments"], ["a_b"], ["a.b"], ["a".repeat(64)]])("rejects %j", (name) => {
    expect(serviceNameSchema.safeParse(name).success).toBe(false);
  });
});
