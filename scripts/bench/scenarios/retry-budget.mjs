// Scenario `budget`: retry amplification when every origin fails. Three
// origins answer 503 to everything; a closed loop of clients drives a service
// with `retry.attempts: 3` for a fixed time: with the default retry budget
// (20 % of requests + 10 retries/s, per isolate), with the share alone (no
// floor), and without a budget (`budget: null`). Measured where it happens:
// client requests at the load generator, upstream tries as the origins' own
// served counts. Targets
// (docs/api.md, "Flow control"): with the budget, upstream ÷ client ≤ 1.2
// plus the floor (10/s over the run, divided by the client requests);
// without it, exactly `attempts`.
import { startOrigins } from "../../lib/origin.mjs";

const ATTEMPTS = 3;
const BUDGET = { percent: 20, minPerSecond: 10 };
// The same share without the floor: what the budget does once traffic is well above 10 requests a second,
// shown at whatever rate this machine reaches (at low rates the default's floor allows every retry).
const NO_FLOOR = { percent: 20, minPerSecond: 0 };
const CONCURRENCY = 8;

/**
 * @param {{ mesh: ReturnType<typeof import("../lib/mesh-client.mjs").meshClient>, quick: boolean, log: (s: string) => void }} ctx
 */
export async function retryBudget({ mesh, quick, log }) {
  const durationMs = quick ? 4_000 : 10_000;
  const origins = await startOrigins(3, "budget");
  try {
    const rows = [];
    for (const [service, budget] of /** @type {const} */ ([["budget-default", BUDGET], ["budget-no-floor", NO_FLOOR], ["budget-off", null]])) {
      const label = budget === null ? "off" : `${budget.percent} % + ${budget.minPerSecond}/s`;
      const token = await mesh.putService(service, {
        routes: { pathPrefixes: [`/${service}`] },
        retry: { attempts: ATTEMPTS, retryOn: ["503"], budget },
        // Passive ejection out of the way: every origin stays routable, so each request could take every attempt.
        outlier: { consecutiveFailures: 1000 },
      });
      for (const o of origins) await mesh.register(service, token, o.url, { ttlSeconds: 3600 });
      await fetch(`${mesh.base}/${service}/warm`).then((r) => r.arrayBuffer());
      for (const o of origins) await control(o.url, { status: 503 });
      const servedBefore = origins.reduce((n, o) => n + o.served, 0);
      log(`retry budget ${label}: ${CONCURRENCY} clients for ${durationMs / 1000} s, every origin answering 503, attempts ${ATTEMPTS}`);
      const started = Date.now();
      let clientRequests = 0;
      let non503 = 0;
      // Closed loop: each lane sends its next request when the last is answered, until the deadline.
      const lane = async () => {
        while (Date.now() - started < durationMs) {
          const res = await fetch(`${mesh.base}/${service}/item`);
          await res.arrayBuffer();
          clientRequests++;
          if (res.status !== 503) non503++;
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, lane));
      const seconds = (Date.now() - started) / 1000;
      const upstreamTries = origins.reduce((n, o) => n + o.served, 0) - servedBefore;
      for (const o of origins) await control(o.url, { status: null });
      await mesh.deleteService(service);
      const amplification = upstreamTries / clientRequests;
      // The floor is allowed once per 10 s window the run touches.
      const bound = budget === null ? ATTEMPTS : 1 + budget.percent / 100 + (budget.minPerSecond * 10 * (Math.ceil(seconds / 10) + 1)) / clientRequests;
      rows.push({ budget: label, attempts: ATTEMPTS, seconds, clientRequests, upstreamTries, amplification, bound, non503 });
      log(`  ${clientRequests} client requests, ${upstreamTries} upstream tries: ${amplification.toFixed(3)}× (bound ${bound.toFixed(3)}×)`);
    }
    return { concurrency: CONCURRENCY, durationMs, rows };
  } finally {
    await Promise.all(origins.map((o) => o.stop()));
  }
}

/** @param {string} url @param {Record<string, unknown>} cmd */
async function control(url, cmd) {
  await fetch(`${url}/__control`, { method: "POST", body: JSON.stringify(cmd) }).then((r) => r.text());
}
