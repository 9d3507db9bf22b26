import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isShed } from "../../src/core/flow/shed.js";
import { WINDOW_SECONDS } from "../../src/core/flow/retry-budget.js";
import { api, load, startHarness, type Harness } from "./harness.js";

/**
 * Flow control over real sockets: three origins answer 503 to everything,
 * and the retry budget must keep upstream tries ÷ client requests at 1.2 plus
 * the floor, against `attempts`× without it. A shedPercent service must
 * refuse the same clients every time and let the others through.
 */
describe("end to end: retry budget and load shedding", () => {
  let h: Harness;
  const ATTEMPTS = 3;

  /** Like the harness's createService, with hour-long leases: a run on a loaded machine can outlast the default 30 s. */
  async function createService(name: string, config: Record<string, unknown>): Promise<void> {
    const created = await api<{ registrationToken: string }>(h, "PUT", `/_mesh/v1/services/${name}`, config);
    expect(created.status).toBe(201);
    for (const o of h.origins) {
      const reg = await api(h, "POST", `/_mesh/v1/services/${name}/instances`, { url: o.url, ttlSeconds: 3600 }, created.body.registrationToken);
      expect(reg.status).toBe(201);
    }
  }

  beforeAll(async () => {
    h = await startHarness(3);
    // Passive ejection off in effect: every origin stays routable, so each request could take all its attempts.
    const failing = { retry: { attempts: ATTEMPTS, retryOn: ["503"] }, outlier: { consecutiveFailures: 1000 } };
    await createService("budget", { routes: { pathPrefixes: ["/budget"] }, ...failing });
    await createService("nobudget", { routes: { pathPrefixes: ["/nobudget"] }, ...failing, retry: { ...failing.retry, budget: null } });
    await createService("shed", { routes: { pathPrefixes: ["/shed"] }, shedPercent: 30 });
  });

  afterAll(async () => {
    await h.close();
  });

  function served(): number {
    return h.origins.reduce((n, o) => n + o.served, 0);
  }

  async function everyOriginAnswers(status: number | null): Promise<void> {
    for (const o of h.origins) await fetch(`${o.url}/__control`, { method: "POST", body: JSON.stringify({ status }) }).then((r) => r.text());
  }

  /** Sends `n` GETs 8 at a time; returns upstream tries per client request and the run's length in seconds. */
  async function amplification(prefix: string, n: number): Promise<{ ratio: number; seconds: number; upstream: number }> {
    await everyOriginAnswers(503);
    try {
      const before = served();
      const started = Date.now();
      const r = await load(`${h.mesh.url}/${prefix}/items`, n, 8);
      const seconds = (Date.now() - started) / 1000;
      expect(r.statuses.get(503)).toBe(n);
      const upstream = served() - before;
      return { ratio: upstream / n, seconds, upstream };
    } finally {
      await everyOriginAnswers(null);
    }
  }

  it("with the default budget, upstream ÷ client requests ≤ 1.2 plus the floor; without it, attempts×", async () => {
    const n = 800;
    const on = await amplification("budget", n);
    // The floor, 10 retries a second, is allowed once per 10 s window the run touches.
    const windows = Math.ceil(on.seconds / WINDOW_SECONDS) + 1;
    const bound = 1.2 * n + 10 * WINDOW_SECONDS * windows;
    const off = await amplification("nobudget", 300);
    console.log(JSON.stringify({ event: "retry_amplification", budgetOn: on, bound: bound / n, budgetOff: off }));
    expect(on.upstream).toBeLessThanOrEqual(bound);
    expect(on.upstream).toBeGreaterThan(n);
    expect(off.ratio).toBe(ATTEMPTS);
  });

  it("sheds the same clients on every round and serves the rest", async () => {
    const ips = Array.from({ length: 40 }, (_, i) => `203.0.113.${i + 1}`);
    const expected = ips.filter((ip) => isShed("shed", ip, 30));
    // 40 clients at 30 %: some on each side (a fixed list, so this is a fact about the hash, not luck).
    expect(expected.length).toBeGreaterThan(4);
    expect(expected.length).toBeLessThan(36);
    for (let round = 0; round < 3; round++) {
      const shedNow: string[] = [];
      for (const ip of ips) {
        const res = await fetch(`${h.mesh.url}/shed/x`, { headers: { "cf-connecting-ip": ip } });
        await res.text();
        if (res.status === 503) {
          expect(res.headers.get("retry-after")).toBe("10");
          shedNow.push(ip);
        } else {
          expect(res.status).toBe(200);
        }
      }
      expect(shedNow).toEqual(expected);
    }
  });
});
