import { describe, expect, it } from "vitest";
import { balancerKey, balancerSettings, createBalancer, DEFAULT_SETTINGS, hashOnOf } from "../../../src/core/balance/index.js";
import { LeastRequestBalancer } from "../../../src/core/balance/load/least-request.js";
import { PeakEwmaBalancer } from "../../../src/core/balance/load/peak-ewma.js";
import { MaglevBalancer } from "../../../src/core/balance/hash/maglev.js";
import { RingHashBalancer } from "../../../src/core/balance/hash/ring-hash.js";
import { RandomBalancer } from "../../../src/core/balance/random.js";
import { serviceConfigSchema } from "../../../src/core/schema/service.js";

/** The `balancer` field: string or `{kind, ...options}`, as PUT /services/{name} validates and stores it. */
const base = { routes: { pathPrefixes: ["/x"] } };

function parse(balancer: unknown, extra: Record<string, unknown> = {}) {
  return serviceConfigSchema.safeParse({ ...base, ...extra, balancer });
}

function issues(balancer: unknown, extra: Record<string, unknown> = {}): { path: string; message: string }[] {
  const r = parse(balancer, extra);
  expect(r.success).toBe(false);
  return (r.error?.issues ?? []).map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
}

describe("balancer field", () => {
  it("keeps a plain kind as the stored form, and an object without options becomes the plain kind", () => {
    expect(parse("least_request").data?.balancer).toBe("least_request");
    expect(parse({ kind: "maglev" }).data?.balancer).toBe("maglev");
    expect(parse({ kind: "round_robin" }).data?.balancer).toBe("round_robin");
    expect(serviceConfigSchema.parse(base).balancer).toBe("round_robin");
  });

  it("stores the object form with every option of the kind resolved (what GET shows)", () => {
    expect(parse({ kind: "least_request", choiceCount: 3 }).data?.balancer).toEqual({ kind: "least_request", choiceCount: 3, activeRequestBias: 1 });
    expect(parse({ kind: "peak_ewma", decayMs: 5000 }).data?.balancer).toEqual({ kind: "peak_ewma", decayMs: 5000, defaultRttMs: 30 });
    expect(parse({ kind: "ring_hash", hashOn: { header: "X-User" } }).data?.balancer).toEqual({ kind: "ring_hash", hashOn: { header: "x-user" } });
    for (const hashOn of ["client_ip", "path", { cookie: "session" }, { query: "user" }]) {
      expect(parse({ kind: "maglev", hashOn }).data?.balancer).toEqual({ kind: "maglev", hashOn });
    }
  });

  it("names the field of a bad option in the 400", () => {
    expect(issues({ kind: "least_request", choiceCount: 1 })[0]?.path).toBe("balancer.choiceCount");
    expect(issues({ kind: "least_request", activeRequestBias: -1 })[0]?.path).toBe("balancer.activeRequestBias");
    expect(issues({ kind: "peak_ewma", decayMs: 10 })[0]?.path).toBe("balancer.decayMs");
    expect(issues({ kind: "ring_hash", hashOn: { header: "bad header" } })[0]?.path).toBe("balancer.hashOn.header");
    expect(issues({ kind: "ring_hash", hashOn: "cookie" })[0]?.path).toBe("balancer.hashOn");
    expect(issues({ kind: "fastest" })[0]).toEqual({ path: "balancer.kind", message: expect.stringContaining("least_request") as unknown });
    expect(issues(42)[0]?.path).toBe("balancer");
  });

  it("refuses an option the kind does not take, saying which it takes", () => {
    expect(issues({ kind: "round_robin", choiceCount: 3 })[0]).toEqual({ path: "balancer.choiceCount", message: expect.stringContaining("takes no options") as unknown });
    expect(issues({ kind: "maglev", choiceCount: 3 })[0]).toEqual({ path: "balancer.choiceCount", message: expect.stringContaining("takes only hashOn") as unknown });
  });

  it("refuses strict mode with a kind that is not a rotation, at `balancer`, saying why", () => {
    for (const b of ["random", "least_request", "peak_ewma", "ring_hash", { kind: "maglev", hashOn: "path" }]) {
      const [first] = issues(b, { routing: { mode: "strict" } });
      expect(first?.path).toBe("balancer");
      expect(first?.message).toContain('routing.mode "strict"');
      expect(first?.message).toContain("round_robin or weighted_round_robin");
    }
    expect(parse("weighted_round_robin", { routing: { mode: "strict" } }).success).toBe(true);
    expect(parse({ kind: "round_robin" }, { routing: { mode: "strict" } }).success).toBe(true);
  });
});

describe("resolving a stored balancer", () => {
  it("fills defaults, reads hashOn only for hash kinds, and keys equal configs equally", () => {
    expect(balancerSettings("least_request")).toEqual(DEFAULT_SETTINGS);
    expect(balancerSettings({ kind: "least_request", choiceCount: 4 }).choiceCount).toBe(4);
    expect(hashOnOf("round_robin")).toBeNull();
    expect(hashOnOf({ kind: "least_request", choiceCount: 3 })).toBeNull();
    expect(hashOnOf("ring_hash")).toBe("client_ip");
    expect(hashOnOf({ kind: "maglev", hashOn: { header: "x-user" } })).toEqual({ header: "x-user" });
    expect(balancerKey({ kind: "maglev", hashOn: { header: "x-user" } })).toBe(balancerKey({ kind: "maglev", hashOn: { header: "x-user" } }));
    expect(balancerKey("maglev")).not.toBe(balancerKey({ kind: "maglev", hashOn: "path" }));
  });

  it("builds the class each kind names", () => {
    expect(createBalancer("random")).toBeInstanceOf(RandomBalancer);
    expect(createBalancer({ kind: "least_request", choiceCount: 3 })).toBeInstanceOf(LeastRequestBalancer);
    expect(createBalancer("peak_ewma")).toBeInstanceOf(PeakEwmaBalancer);
    expect(createBalancer("ring_hash")).toBeInstanceOf(RingHashBalancer);
    expect(createBalancer("maglev")).toBeInstanceOf(MaglevBalancer);
  });
});
