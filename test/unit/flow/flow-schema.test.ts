import { describe, expect, it } from "vitest";
import { serviceConfigSchema, type ServiceConfigInput } from "../../../src/core/schema/service.js";
import { routedService } from "../../../src/registry/route-index.js";

const minimal: ServiceConfigInput = { routes: { pathPrefixes: ["/api"] } };

function issues(input: unknown): { path: string; message: string }[] {
  const result = serviceConfigSchema.safeParse(input);
  if (result.success) throw new Error("expected the parse to fail");
  return result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
}

function parse(input: ServiceConfigInput) {
  const result = serviceConfigSchema.safeParse(input);
  if (!result.success) throw new Error(JSON.stringify(result.error.issues));
  return result.data;
}

describe("flow-control fields", () => {
  it("default: the retry budget on at Linkerd's and Envoy's 20 % and 10/s, no caps, no shedding", () => {
    const c = parse(minimal);
    expect(c.retry.budget).toEqual({ percent: 20, minPerSecond: 10 });
    expect(c.maxConcurrentRequestsPerInstance).toBeUndefined();
    expect(c.maxPendingRequests).toBeUndefined();
    expect(c.shedPercent).toBeUndefined();
  });

  it("takes a partial budget, null for no budget, and every field as given", () => {
    expect(parse({ ...minimal, retry: { budget: { percent: 5 } } }).retry.budget).toEqual({ percent: 5, minPerSecond: 10 });
    expect(parse({ ...minimal, retry: { budget: null } }).retry.budget).toBeNull();
    const c = parse({ ...minimal, maxConcurrentRequestsPerInstance: 8, maxPendingRequests: 16, shedPercent: 12.5 });
    expect(c).toMatchObject({ maxConcurrentRequestsPerInstance: 8, maxPendingRequests: 16, shedPercent: 12.5 });
  });

  it("names the field of every bad value", () => {
    const cases: [unknown, string][] = [
      [{ retry: { budget: { percent: 101 } } }, "retry.budget.percent"],
      [{ retry: { budget: { percent: -1 } } }, "retry.budget.percent"],
      [{ retry: { budget: { minPerSecond: 1.5 } } }, "retry.budget.minPerSecond"],
      [{ retry: { budget: { minPerSecond: 10_000_000 } } }, "retry.budget.minPerSecond"],
      [{ retry: { budget: { percent: 20, extra: 1 } } }, "retry.budget"],
      [{ retry: { budget: "on" } }, "retry.budget"],
      [{ maxConcurrentRequestsPerInstance: 0 }, "maxConcurrentRequestsPerInstance"],
      [{ maxConcurrentRequestsPerInstance: 2.5 }, "maxConcurrentRequestsPerInstance"],
      [{ maxConcurrentRequestsPerInstance: "10" }, "maxConcurrentRequestsPerInstance"],
      [{ maxConcurrentRequestsPerInstance: 4, maxPendingRequests: -1 }, "maxPendingRequests"],
      [{ maxConcurrentRequestsPerInstance: 4, maxPendingRequests: 1_000_000 }, "maxPendingRequests"],
      [{ maxPendingRequests: 4 }, "maxPendingRequests"],
      [{ shedPercent: 100.5 }, "shedPercent"],
      [{ shedPercent: -3 }, "shedPercent"],
      [{ shedPercent: "10%" }, "shedPercent"],
    ];
    for (const [extra, path] of cases) {
      const found = issues({ ...minimal, ...(extra as object) });
      expect(found.map((i) => i.path), JSON.stringify(extra)).toEqual([path]);
    }
  });

  it("the route index carries the fields only when set, and drops a shedPercent of 0", () => {
    const plain = routedService("a", parse(minimal));
    expect("maxConcurrentRequestsPerInstance" in plain || "maxPendingRequests" in plain || "shedPercent" in plain).toBe(false);
    const set = routedService("b", parse({ ...minimal, maxConcurrentRequestsPerInstance: 2, maxPendingRequests: 3, shedPercent: 0 }));
    expect(set).toMatchObject({ maxConcurrentRequestsPerInstance: 2, maxPendingRequests: 3 });
    expect("shedPercent" in set).toBe(false);
    expect(routedService("c", parse({ ...minimal, shedPercent: 40 })).shedPercent).toBe(40);
  });
});
