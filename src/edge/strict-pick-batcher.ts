import { MAX_PICKS_PER_BATCH, type SnapshotInstance } from "../core/snapshot.js";
import type { PickBatchResult } from "../coordinator/service-coordinator.js";
import { coordinator } from "../coordinator/stub.js";
import { withTimeout } from "./with-timeout.js";

/**
 * Strict mode asks the service's coordinator for every pick. One RPC per pick
 * makes the DO's throughput the service's ceiling in requests, so picks are
 * batched:
 *
 * - Per isolate and service, at most one pick RPC is in flight. A pick that
 *   finds none in flight is sent at once: an idle service pays no extra wait.
 * - Picks that arrive while one is in flight queue, and all of them (up to
 *   MAX_PICKS_PER_BATCH) go in the next RPC as soon as it returns. Under load
 *   that is one RPC per round trip instead of one per request, so the further
 *   away the DO, the bigger the batches.
 * - The coordinator answers a batch in order from one snapshot, so the global
 *   rotation stays exact: every pick still takes the next slot of the one
 *   round-robin. Batching only delays when a queued pick is made, by at most
 *   one round trip.
 *
 * Request contexts: the runtime ties a stub's I/O to the request that made it
 * and may cancel it when that request ends. So a batch is always sent by a
 * request that is itself in the batch (it still needs the answer), and every
 * request waiting in a batch holds its context open with waitUntil until its
 * pick settles. A queued pick also waits with a timer (QUEUED_GIVE_UP_MS):
 * besides turning a queue left without a sender into a fallback to snapshot
 * mode rather than a hung request, it is what keeps workerd from cancelling
 * the waiting request as hung, since a request whose only pending work is a
 * promise another request will resolve counts as having none (measured: with
 * waitUntil alone, thousands of strict requests failed under load).
 */
export const PICK_TIMEOUT_MS = 1_000;
const QUEUED_GIVE_UP_MS = 2 * PICK_TIMEOUT_MS;

export interface StrictPick {
  instance: SnapshotInstance | null;
  allUnhealthy: boolean;
  version: number;
}

type Outcome = { ok: true; pick: StrictPick } | { ok: false; error: unknown };

interface Waiter {
  readonly exclude: string[];
  /** True until a batch takes this pick. */
  queued: boolean;
  /** Set by the batch that carried this pick. */
  outcome: Outcome | null;
  /** Wakes this pick's request to look at its state again (its outcome, or its turn to send). */
  wake: () => void;
}

interface Queue {
  waiting: Waiter[];
  sending: boolean;
}

const queues = new Map<string, Queue>();

function queueFor(service: string): Queue {
  let q = queues.get(service);
  if (q === undefined) {
    q = { waiting: [], sending: false };
    queues.set(service, q);
  }
  return q;
}

/** Sends the first queued picks (the caller's among them) in one RPC and settles each of them. */
function send(env: Env, ctx: ExecutionContext, service: string, q: Queue): void {
  const batch = q.waiting.splice(0, MAX_PICKS_PER_BATCH);
  for (const w of batch) w.queued = false;
  q.sending = true;
  const rpc: Promise<PickBatchResult> = coordinator(env, service).pickBatch(batch.map((w) => w.exclude));
  const done = withTimeout(rpc, PICK_TIMEOUT_MS, "strict pick")
    .then(
      (result) => {
        if (!result.ok) {
          const error = new Error(`coordinator refused the batch: ${result.error} (max ${result.max})`);
          for (const w of batch) w.outcome = { ok: false, error };
          return;
        }
        batch.forEach((w, i) => {
          w.outcome = { ok: true, pick: { instance: result.instances[i] ?? null, allUnhealthy: result.allUnhealthy, version: result.version } };
        });
      },
      (error: unknown) => {
        for (const w of batch) w.outcome = { ok: false, error };
      },
    )
    .finally(() => {
      q.sending = false;
      for (const w of batch) w.wake();
      // The next batch is sent by its first member, from that request's own context.
      q.waiting[0]?.wake();
    });
  ctx.waitUntil(done);
}

/**
 * One strict-mode pick for `service`, excluding the instances this request
 * already tried. Rejects when the coordinator cannot answer in time; the
 * caller falls back to snapshot mode.
 */
export async function strictPick(env: Env, ctx: ExecutionContext, service: string, exclude: string[]): Promise<StrictPick> {
  const q = queueFor(service);
  const waiter: Waiter = { exclude, queued: true, outcome: null, wake: () => undefined };
  q.waiting.push(waiter);
  let release: (() => void) | null = null;
  try {
    for (;;) {
      if (waiter.outcome !== null) {
        if (waiter.outcome.ok) return waiter.outcome.pick;
        throw waiter.outcome.error;
      }
      const woken = new Promise<void>((resolve) => {
        waiter.wake = resolve;
      });
      if (waiter.queued && !q.sending) send(env, ctx, service, q);
      if (!waiter.queued) {
        // In a batch: it settles within PICK_TIMEOUT_MS, kept alive by its sender's waitUntil.
        await woken;
        continue;
      }
      // Queued behind the batch in flight: keep this request's context open
      // until the pick settles, since it may be the one to send the next batch.
      if (release === null) ctx.waitUntil(new Promise<void>((resolve) => (release = resolve)));
      try {
        await withTimeout(woken, QUEUED_GIVE_UP_MS, "queued strict pick");
      } catch (err) {
        if (waiter.queued) {
          q.waiting.splice(q.waiting.indexOf(waiter), 1);
          throw err;
        }
      }
    }
  } finally {
    // `release` is assigned inside a Promise executor, which TypeScript cannot see.
    (release as (() => void) | null)?.();
  }
}
