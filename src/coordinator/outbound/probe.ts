import type { CheckResult } from "../../core/health/health-machine.js";
import { checkPasses } from "../../core/health/health-machine.js";
import type { HealthCheckConfig } from "../../core/schema/service.js";

/**
 * Workers keep at most 6 outbound connections open at once per invocation and
 * queue the rest, so probing more at a time only hides the wait inside each
 * probe's timeout. We run 6 at a time and give each its own timeout.
 */
export const PROBE_CONCURRENCY = 6;

export async function probe(baseUrl: string, config: HealthCheckConfig): Promise<CheckResult> {
  const target = baseUrl.replace(/\/+$/, "") + config.path;
  const started = Date.now();
  try {
    const res = await fetch(target, {
      method: "GET",
      headers: { "user-agent": "switchyard-health-check/0.1" },
      redirect: "manual",
      signal: AbortSignal.timeout(config.timeoutMs),
    });
    // Drain nothing: the status is all a check needs, and cancelling frees the connection.
    await res.body?.cancel();
    const detail = `HTTP ${res.status} in ${Date.now() - started} ms`;
    return checkPasses(res.status, config) ? { ok: true, detail } : { ok: false, detail };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return { ok: false, detail: timedOut ? `timeout after ${config.timeoutMs} ms` : `connect failure: ${errorMessage(err)}` };
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 200) : "unknown error";
}
