import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../../workers/mesh/index.js";
import { createService, mesh, originUrls, register, uniqueName } from "../helpers.js";

const READER = { authorization: "Bearer test-metrics-token" };

/** The value of one sample line, by its exact series (name and labels as rendered). */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/**
 * A request the first service could not answer and handed to its
 * fallbackService (docs/api.md, "Priority pools and fallback") is counted
 * once, under the service that answered; the first service's own tries are
 * still its tries: each is in its instance's upstream histogram and its
 * retries in the first service's switchyard_retries_total. Without them, a
 * primary whose every try fails shows no upstream latency and no retries
 * while it burns a connect timeout on every request.
 */
describe("metrics across a fallback hop", () => {
  it("keeps the first service's tries in its own upstream histograms and retries", async () => {
    const fallback = uniqueName("fbm-dr");
    const fb = await createService(fallback, { routes: { pathPrefixes: [`/${fallback}`] } });
    await register(fallback, fb.token, originUrls()[0] ?? "");
    const primary = uniqueName("fbm-pri");
    const pri = await createService(primary, { routes: { pathPrefixes: [`/${primary}`] }, fallbackService: fallback });
    // Nothing listens on ports 1 and 2: each try is a refused connection, so the GET tries both, then hops.
    const a = await register(primary, pri.token, "http://127.0.0.1:1");
    const b = await register(primary, pri.token, "http://127.0.0.1:2");

    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`http://mesh.test/${primary}/x`), env, ctx);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    await waitOnExecutionContext(ctx);

    const text = await (await mesh("/_mesh/v1/metrics", { headers: READER })).text();
    const upstream = (id: string) => value(text, `switchyard_request_duration_seconds_count{service="${primary}",instance="${id}",kind="upstream"}`) ?? 0;
    expect(upstream(a.id) + upstream(b.id)).toBe(2);
    expect(value(text, `switchyard_retries_total{service="${primary}"}`)).toBe(1);
    // The request itself is counted once, where it was answered.
    const answered = text.split("\n").filter((l) => l.startsWith(`switchyard_requests_total{service="${fallback}",`));
    expect(answered.map((l) => Number(l.split(" ").pop())).reduce((n, x) => n + x, 0)).toBe(1);
    expect(text.split("\n").some((l) => l.startsWith(`switchyard_requests_total{service="${primary}",`))).toBe(false);
    expect(value(text, `switchyard_retries_total{service="${fallback}"}`)).toBe(0);
  }, 30_000);
});
