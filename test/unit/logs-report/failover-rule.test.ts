import { describe, expect, it } from "vitest";
import { line, reportInTempDir } from "./request-lines.js";

/**
 * A failover is a request answered by another instance after a failed try: more than one try, and the
 * last one succeeded (outcome `failed_over`). The stats endpoint and the Analytics Engine point count
 * by that rule (src/core/metrics/record.ts, failedOver); logs:report must give the same rate.
 */
const report = reportInTempDir("failover-rule-");

describe("logs:report's failover rule", () => {
  it("counts only requests whose last try succeeded after a failed one, per service and per instance", async () => {
    const r = await report("failovers.log", [
      line({ requestId: "plain" }),
      line({ requestId: "over", outcome: "failed_over", instance: "b", attempts: 2, tried: ["a", "b"], failures: ["reset"] }),
      // Two tries, the last one failed too: an error, not a failover.
      line({ requestId: "503", status: 503, outcome: "upstream_error", instance: "b", attempts: 2, tried: ["a", "b"], failures: ["reset", "503"] }),
      line({ requestId: "502", status: 502, outcome: "upstream_error", instance: "b", attempts: 2, tried: ["a", "b"], failures: ["reset", "reset"], upstreamLatencyMs: null }),
    ].map((l) => JSON.stringify(l)));
    const shop = r.services.find((s) => s.service === "shop");
    expect(shop).toMatchObject({ requests: 4, errors: 2, failovers: 1, failoverRate: 0.25 });
    const b = shop?.instances.find((i) => i.instance === "b");
    expect(b?.answered).toBe(3);
    expect(b?.errorRate).toBeCloseTo(2 / 3, 12);
    expect(b?.failoverRate).toBeCloseTo(1 / 3, 12);
  });
});
