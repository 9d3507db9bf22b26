import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RATE_LIMITS } from "../../../src/api/limits.js";
import worker from "../../../workers/mesh/index.js";
import { ADMIN } from "../helpers.js";

/**
 * CONTROL_PLANE_RATE_LIMITS (src/core/rate-limit/settings.ts) passed per call,
 * the way a deployment's [vars] would set it. Date is frozen at a point far
 * from the other limit tests, so every bucket starts full and no refill
 * happens between the calls of one burst.
 */

afterEach(() => {
  vi.useRealTimers();
});

/** `limits` is unknown: an unquoted [vars] value reaches the Worker as a number, boolean or object. */
async function call(limits: unknown, headers: Record<string, string>): Promise<Response> {
  const ctx = createExecutionContext();
  const vars = { ...env, CONTROL_PLANE_RATE_LIMITS: limits } as Env;
  const res = await worker.fetch(new Request("http://mesh.test/_mesh/v1/services", { headers }), vars, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** Statuses of `n` calls made at the same instant. */
async function statuses(limits: unknown, headers: Record<string, string>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await call(limits, headers);
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

describe("CONTROL_PLANE_RATE_LIMITS", () => {
  it("admin=1/1 refuses the second admin call with 429 rate_limited, and lets one through a second later", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 3_600_000);
    const first = await call("admin=1/1", ADMIN);
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    const second = await call("admin=1/1", ADMIN);
    expect(second.status).toBe(429);
    expect(second.headers.get("retry-after")).toBe("1");
    expect(await second.json()).toMatchObject({ error: "rate_limited" });
    vi.setSystemTime(Date.now() + 1_000);
    expect(await statuses("admin=1/1", ADMIN, 2)).toEqual([200, 429]);
  });

  it("off lets 60 quick admin calls and 60 unauthenticated calls from one IP through, where the defaults refuse some", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 7_200_000);
    const ip = { "cf-connecting-ip": "203.0.113.50" };
    expect(await statuses("off", ADMIN, 60)).toEqual(Array<number>(60).fill(200));
    // No token: the route answers 401, which with the limiter on would also cost the IP a token each.
    expect(await statuses("off", ip, 60)).toEqual(Array<number>(60).fill(401));
    // The same 60 at the same instant with the defaults: past the admin burst they are refused.
    const limited = await statuses("", ADMIN, 60);
    expect(limited.slice(0, RATE_LIMITS.admin.burst).every((s) => s === 200)).toBe(true);
    expect(limited.slice(RATE_LIMITS.admin.burst).every((s) => s === 429)).toBe(true);
  });

  /** With CONTROL_PLANE_RATE_LIMITS = `value`, `count` admin calls at one instant: the defaults hold, and one warning says why. */
  async function keepsDefaultsWithOneWarning(value: unknown, count: number, laterMs: number): Promise<void> {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + laterMs);
    const warnings: string[] = [];
    const spy = vi.spyOn(console, "warn").mockImplementation((line: unknown) => {
      warnings.push(String(line));
    });
    try {
      const got = await statuses(value, ADMIN, count);
      expect(got.slice(0, RATE_LIMITS.admin.burst).every((s) => s === 200)).toBe(true);
      expect(got.slice(RATE_LIMITS.admin.burst).every((s) => s === 429)).toBe(true);
    } finally {
      spy.mockRestore();
    }
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0] ?? "{}")).toMatchObject({ event: "config_warning", name: "CONTROL_PLANE_RATE_LIMITS" });
  }

  it("a value that does not parse keeps the defaults (not an open control plane) and warns once", async () => {
    await keepsDefaultsWithOneWarning("admin=lots", 60, 10_800_000);
  });

  it("a value that is not a string (an unquoted 0 in [vars]) keeps the defaults and warns, rather than failing every call", async () => {
    await keepsDefaultsWithOneWarning(0, RATE_LIMITS.admin.burst + 5, 14_400_000);
  });
});
