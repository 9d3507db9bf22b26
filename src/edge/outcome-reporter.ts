import { aggregateOutcomes, type TryOutcome } from "../core/snapshot.js";
import { coordinator } from "../coordinator/stub.js";

/**
 * Batches try outcomes per service in isolate memory and ships them to the
 * service's coordinator from ctx.waitUntil, never on the response path. A
 * failure is sent at once (it feeds passive health and the confirming probe);
 * successes wait up to FLUSH_DELAY_MS or until MAX_BATCH pile up, so steady
 * traffic costs the DO one RPC per isolate per interval, not one per request.
 */
const FLUSH_DELAY_MS = 1_000;
const MAX_BATCH = 256;

const pending = new Map<string, TryOutcome[]>();
let buffered = 0;
let flushScheduled = false;

async function flush(env: Env): Promise<void> {
  flushScheduled = false;
  const batches = [...pending.entries()];
  pending.clear();
  buffered = 0;
  await Promise.all(
    batches.map(async ([service, outcomes]) => {
      try {
        await coordinator(env, service).report(aggregateOutcomes(outcomes));
      } catch (err) {
        // Losing one batch of passive stats is acceptable; active checks still run.
        console.error(JSON.stringify({ event: "report_failed", service, outcomes: outcomes.length, message: String(err) }));
      }
    }),
  );
}

export function recordOutcomes(env: Env, ctx: ExecutionContext, service: string, outcomes: readonly TryOutcome[]): void {
  if (outcomes.length === 0) return;
  let list = pending.get(service);
  if (list === undefined) {
    list = [];
    pending.set(service, list);
  }
  list.push(...outcomes);
  buffered += outcomes.length;
  const urgent = outcomes.some((o) => !o.ok);
  if (urgent || buffered >= MAX_BATCH) {
    ctx.waitUntil(flush(env));
  } else if (!flushScheduled) {
    flushScheduled = true;
    ctx.waitUntil(new Promise<void>((resolve) => setTimeout(resolve, FLUSH_DELAY_MS)).then(() => flush(env)));
  }
}
