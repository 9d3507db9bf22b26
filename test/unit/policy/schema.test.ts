import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { serviceConfigSchema, type ServiceConfigInput } from "../../../src/core/schema/service.js";

/** The first issue of a failed parse, as "dotted.path: message". */
function firstIssue(input: Record<string, unknown>): string {
  const result = serviceConfigSchema.safeParse({ routes: { pathPrefixes: ["/x"] }, ...input });
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  const issue = result.error.issues[0];
  return `${issue?.path.join(".") ?? ""}: ${issue?.message ?? ""}`;
}

function parse(input: Partial<ServiceConfigInput>) {
  return serviceConfigSchema.parse({ routes: { pathPrefixes: ["/x"] }, ...input });
}

describe("affinity, split and slowStartSeconds in the service schema", () => {
  it("leaves affinity and split absent and slow start at 0 (off) by default", () => {
    const config = parse({});
    expect(config.affinity).toBeUndefined();
    expect(config.split).toBeUndefined();
    expect(config.slowStartSeconds).toBe(0);
  });

  it("resolves affinity's name per mode and its ttlSeconds, so GET shows what runs", () => {
    expect(parse({ affinity: { mode: "cookie" } }).affinity).toEqual({ mode: "cookie", name: "__mesh_affinity", ttlSeconds: 3600 });
    expect(parse({ affinity: { mode: "header" } }).affinity).toEqual({ mode: "header", name: "x-mesh-affinity", ttlSeconds: 3600 });
    expect(parse({ affinity: { mode: "header", name: "X-Session-Pin", ttlSeconds: 60 } }).affinity).toEqual({
      mode: "header",
      name: "x-session-pin",
      ttlSeconds: 60,
    });
  });

  it("refuses bad affinity fields by name", () => {
    expect(firstIssue({ affinity: { mode: "ip" } })).toMatch(/^affinity\.mode: /);
    expect(firstIssue({ affinity: { mode: "cookie", name: "a b" } })).toMatch(/^affinity\.name: must be a valid header or cookie name/);
    expect(firstIssue({ affinity: { mode: "cookie", name: "x".repeat(129) } })).toMatch(/^affinity\.name: /);
    expect(firstIssue({ affinity: { mode: "cookie", ttlSeconds: 0 } })).toMatch(/^affinity\.ttlSeconds: /);
    expect(firstIssue({ affinity: { mode: "cookie", ttlSeconds: 7 * 86_400 + 1 } })).toMatch(/^affinity\.ttlSeconds: /);
    expect(firstIssue({ affinity: { mode: "header", name: "Cookie" } })).toMatch(/^affinity\.name: names a header the mesh or HTTP already uses/);
    expect(firstIssue({ affinity: { mode: "cookie", extra: 1 } })).toMatch(/^affinity/);
  });

  it("accepts the issue's two rule forms", () => {
    const split = [
      { match: { header: { "X-Canary": "1" } }, to: { version: "v2" } },
      { percent: 5, to: { version: "v2" } },
    ];
    expect(parse({ split }).split).toEqual([
      { match: { header: { "x-canary": "1" } }, to: { version: "v2" } },
      { percent: 5, to: { version: "v2" } },
    ]);
  });

  it("accepts percent rules that add up to exactly 100 in decimals, and refuses 100.01 (fast-check)", () => {
    // 0.2 + 83.9 + 15.9 is 100.00000000000001 in doubles, which the sum check once refused.
    const rules = (shares: number[]) => shares.map((percent, k) => ({ percent, to: { v: String(k) } }));
    expect(parse({ split: rules([0.2, 83.9, 15.9]) }).split).toHaveLength(3);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9_998 }), fc.integer({ min: 1, max: 9_998 }), (a, b) => {
        fc.pre(a + b < 10_000);
        expect(parse({ split: rules([a / 100, b / 100, (10_000 - a - b) / 100]) }).split).toHaveLength(3);
        expect(firstIssue({ split: rules([a / 100, b / 100, (10_001 - a - b) / 100]) })).toMatch(/^split: the percent rules add up to more than 100/);
      }),
    );
  });

  it("refuses bad split rules by name", () => {
    expect(firstIssue({ split: [] })).toMatch(/^split: /);
    expect(firstIssue({ split: Array.from({ length: 17 }, () => ({ percent: 1, to: { v: "2" } })) })).toMatch(/^split: /);
    expect(firstIssue({ split: [{ to: { version: "v2" } }] })).toMatch(/^split\.0\.percent: a rule has exactly one of "match"/);
    expect(firstIssue({ split: [{ percent: 5, match: { header: { a: "1" } }, to: { version: "v2" } }] })).toMatch(/^split\.0\.percent: /);
    expect(firstIssue({ split: [{ percent: 0, to: { version: "v2" } }] })).toMatch(/^split\.0\.percent: /);
    expect(firstIssue({ split: [{ percent: 101, to: { version: "v2" } }] })).toMatch(/^split\.0\.percent: /);
    expect(firstIssue({ split: [{ percent: 60, to: { v: "2" } }, { percent: 41, to: { v: "3" } }] })).toMatch(/^split: the percent rules add up to more than 100/);
    expect(firstIssue({ split: [{ percent: 5, to: {} }] })).toMatch(/^split\.0\.to: must name 1 to 8 labels/);
    expect(firstIssue({ split: [{ percent: 5, to: { constructor: "x" } }] })).toMatch(/^split\.0\.to: keys __proto__, constructor/);
    expect(firstIssue({ split: [{ percent: 5, to: { v: "x".repeat(257) } }] })).toMatch(/^split\.0\.to\.v: /);
    expect(firstIssue({ split: [{ match: { header: { "x-mesh-instance": "a" } }, to: { v: "2" } }] })).toMatch(/^split\.0\.match\.header: x-mesh-\* headers/);
    expect(firstIssue({ split: [{ match: { header: { "a b": "1" } }, to: { v: "2" } }] })).toMatch(/^split\.0\.match\.header\.a b: /);
    expect(firstIssue({ split: [{ match: { cookie: { a: "1" } }, to: { v: "2" } }] })).toMatch(/^split\.0\.match\.header: /);
  });

  it("refuses a bad slowStartSeconds by name", () => {
    expect(firstIssue({ slowStartSeconds: -1 })).toMatch(/^slowStartSeconds: /);
    expect(firstIssue({ slowStartSeconds: 1.5 })).toMatch(/^slowStartSeconds: /);
    expect(firstIssue({ slowStartSeconds: 3601 })).toMatch(/^slowStartSeconds: /);
    expect(parse({ slowStartSeconds: 30 }).slowStartSeconds).toBe(30);
  });

  it("refuses each policy with strict mode, at its own field, saying why", () => {
    const strict = { routing: { mode: "strict" } };
    expect(firstIssue({ ...strict, affinity: { mode: "cookie" } })).toMatch(/^affinity: affinity cannot run with routing.mode "strict"/);
    expect(firstIssue({ ...strict, split: [{ percent: 5, to: { v: "2" } }] })).toMatch(/^split: split cannot run with routing.mode "strict"/);
    expect(firstIssue({ ...strict, slowStartSeconds: 10 })).toMatch(/^slowStartSeconds: slowStartSeconds cannot run/);
    expect(parse({ routing: { mode: "strict" }, slowStartSeconds: 0 }).slowStartSeconds).toBe(0);
  });
});
