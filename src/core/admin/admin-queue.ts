/**
 * The longest the caller of an admin write (a service's PUT, DELETE or token rotation) waits for its
 * answer, counted from the call's arrival here. A write is a few KV and Durable Object round trips:
 * tens of milliseconds, a second or two when KV is slow. Nothing else bounds the wait: a Worker has no
 * wall-clock limit while its client is connected, so one KV or RPC call that never answered would
 * hold every later write of the service, and each of their callers, for good. 10 s is:
 *  - far above one normal write, so a backlog of them (the admin token may send 20 a second, 40 in a
 *    burst: wrangler.toml CONTROL_PLANE_RATE_LIMITS) is not refused merely for queueing;
 *  - well under the 30 s after which the platform resets an object stuck in blockConcurrencyWhile, and
 *    under the 30 s or more that HTTP clients and scripts commonly wait before they drop the
 *    connection, so the caller gets a 503 it can act on instead of a hang up;
 *  - one wait for both deliveries of a call: the API's retry of a coordinator RPC (at most 100 ms
 *    after the first failed, core/rpc/stub-retry.ts) joins the first delivery by its key instead of
 *    waiting afresh, so a client waits this long plus at most that, then is told `Retry-After: 1`.
 * The queue also moves on past a call that has been running this long (see AdminQueue), so a client
 * that comes back after a hung write's 503 finds the line moving again.
 */
export const ADMIN_WRITE_WAIT_MS = 10_000;

/**
 * How long a queue knows a call by its key once its operation has ended (or, for a call abandoned
 * while waiting, once it was abandoned). The API retries a coordinator call once, at most 100 ms
 * after it saw the first fail (core/rpc/stub-retry.ts): while the first is still waiting or
 * running, or just after it answered. Kept no longer, since an answer can hold a whole config (up
 * to a 256 KiB body), and DOs sharing an isolate share its 128 MB.
 */
const REMEMBER_MS = 10_000;
/** And at most this many ended calls, however fast they come (a call that may still run is never forgotten). */
const REMEMBERED_CALLS = 64;

/** The queue's own answers, plain values so they cross RPC with the writes' outcomes. */
export type QueueRefusal =
  /** Waited ADMIN_WRITE_WAIT_MS behind an earlier call without starting: not made, and never will be. */
  | { ok: false; error: "write_not_started" }
  /** Started, but not ended ADMIN_WRITE_WAIT_MS after it arrived: it may still take effect. */
  | { ok: false; error: "write_overran" };

export const WRITE_NOT_STARTED: QueueRefusal = { ok: false, error: "write_not_started" };
export const WRITE_OVERRAN: QueueRefusal = { ok: false, error: "write_overran" };

/** What a running operation learns of its turn. */
export interface Turn {
  /**
   * True once the queue has moved on past this call (it ran ADMIN_WRITE_WAIT_MS): a later call may be
   * running, so the operation must start no further write. Its caller was answered WRITE_OVERRAN.
   */
  readonly passed: boolean;
}

/** Time, as a parameter: the coordinator passes the Worker's clock and timers, tests a fake. */
export interface QueueClock {
  now(): number;
  /** Calls `fn` once, `ms` from now; the function returned cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/** What the queue tells its owner (for the log): a call abandoned, answered while still running, or passed. */
export type QueueEvent = "abandoned" | "overran" | "passed";

type Stage = "waiting" | "running" | "abandoned" | "ended";
type Reply = { value: unknown } | { error: unknown };

interface Memo {
  answer: Promise<unknown>;
  /** When the call's operation ended, or it was abandoned; null while it may still run. */
  endedAt: number | null;
}

interface Call {
  readonly key: string;
  readonly arrivedAt: number;
  stage: Stage;
  passed: boolean;
  readonly memo: Memo;
  readonly begin: (turn: Turn) => Promise<unknown>;
  /** Answers the caller; only the first answer counts (a call answered WRITE_OVERRAN still ends later). */
  readonly reply: (reply: Reply) => void;
  cancelDeadline: () => void;
  cancelPass: () => void;
}

const NOTHING = (): void => undefined;

/**
 * Runs one operation at a time, in the order `run` was called; one failing does not stop the next.
 * A call whose key it has seen is not run again: it gets the first one's answer, waiting for it if
 * need be. The platform's retry of an RPC (coordinator/stub.ts) is such a call: an error it marks
 * retryable does not say the first delivery did not run (its answer may have been lost on the way
 * back, or it may still be waiting its turn here), and run again after the writes that came in
 * between it would undo them: a DELETE answered 404 after deleting, a creating PUT brought back
 * the service a DELETE had just removed, a rotation took back the rotation after it.
 *
 * Each call is first `waiting`, then `running`, and every caller is answered within
 * ADMIN_WRITE_WAIT_MS of its arrival:
 *  - still waiting then, it is `abandoned`: answered WRITE_NOT_STARTED, and skipped when its turn
 *    comes, since its caller was told it did not happen;
 *  - running then, it cannot be un-run: answered WRITE_OVERRAN (it may still take effect) and left to
 *    end. Its key stays known until REMEMBER_MS after it ends, so a retried delivery of it does not
 *    run it a second time.
 * A call that has been running ADMIN_WRITE_WAIT_MS is passed: the next call starts without waiting
 * for it to end, and its Turn says so. The trade-off: holding the line for it keeps the order the
 * writes rely on (coordinator/admin-writes.ts) but, if its I/O never answers, refuses every later
 * write of the service for good, DELETE included. Moving on keeps the service writable; the passed
 * operation starts no further write (it checks its Turn after each await), so what can still land
 * out of order is the one KV write or route claim it had under way. That is left for the next write
 * of the service, or the cron sweep, to put right; the caller was told to look.
 *
 * Pure: it knows nothing of the writes it runs, and takes its clock as a parameter.
 */
export class AdminQueue {
  readonly #clock: QueueClock;
  readonly #observe: (key: string, event: QueueEvent) => void;
  /** Calls not yet started, in the order they came; an abandoned one stays until its turn, and is skipped. */
  readonly #line: Call[] = [];
  /** The call holding the queue; null when none does (a passed call no longer does). */
  #running: Call | null = null;
  /** By key, oldest first: each call's answer. */
  readonly #memo = new Map<string, Memo>();

  constructor(clock: QueueClock, observe: (key: string, event: QueueEvent) => void = NOTHING) {
    this.#clock = clock;
    this.#observe = observe;
  }

  run<T>(key: string, op: (turn: Turn) => Promise<T>): Promise<T | QueueRefusal> {
    this.#forgetEnded();
    const known = this.#memo.get(key);
    // The key names the call, and with it the operation and its answer's type.
    if (known !== undefined) return known.answer as Promise<T | QueueRefusal>;
    this.#makeRoom();
    let resolve: (value: T | QueueRefusal) => void = NOTHING;
    let reject: (error: unknown) => void = NOTHING;
    const answer = new Promise<T | QueueRefusal>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    let answered = false;
    const call: Call = {
      key,
      arrivedAt: this.#clock.now(),
      stage: "waiting",
      passed: false,
      memo: { answer, endedAt: null },
      begin: op,
      reply: (reply) => {
        if (answered) return;
        answered = true;
        // `value` holds what `op` resolved to (a T) or a QueueRefusal; the queue puts nothing else there.
        if ("value" in reply) resolve(reply.value as T | QueueRefusal);
        else reject(reply.error);
      },
      cancelDeadline: NOTHING,
      cancelPass: NOTHING,
    };
    call.cancelDeadline = this.#clock.after(ADMIN_WRITE_WAIT_MS, () => this.#deadline(call));
    this.#memo.set(key, call.memo);
    this.#line.push(call);
    this.#startNext();
    return answer;
  }

  #startNext(): void {
    while (this.#running === null) {
      const call = this.#line.shift();
      if (call === undefined) return;
      // Its caller was told it was not made: it must never run.
      if (call.stage === "abandoned") continue;
      // Its time is up, though its deadline's timer has not fired yet (it fires in the same instant as
      // the one that freed the line): started now, it would be answered WRITE_OVERRAN at once.
      if (this.#clock.now() - call.arrivedAt >= ADMIN_WRITE_WAIT_MS) {
        this.#abandon(call);
        continue;
      }
      this.#start(call);
    }
  }

  #start(call: Call): void {
    call.stage = "running";
    this.#running = call;
    call.cancelPass = this.#clock.after(ADMIN_WRITE_WAIT_MS, () => this.#pass(call));
    const turn: Turn = {
      get passed() {
        return call.passed;
      },
    };
    // Begun at once; an operation that throws before its first await fails like one that rejects.
    const ran = (async () => call.begin(turn))();
    void ran.then(
      (value) => this.#end(call, { value }),
      (error: unknown) => this.#end(call, { error }),
    );
  }

  /** ADMIN_WRITE_WAIT_MS after the call arrived, and it has not ended. */
  #deadline(call: Call): void {
    if (call.stage === "waiting") {
      this.#abandon(call);
    } else if (call.stage === "running") {
      call.reply({ value: WRITE_OVERRAN });
      this.#observe(call.key, "overran");
    }
  }

  /** A call that waited ADMIN_WRITE_WAIT_MS: answered now, and skipped when its turn comes. */
  #abandon(call: Call): void {
    call.cancelDeadline();
    call.stage = "abandoned";
    call.memo.endedAt = this.#clock.now();
    call.reply({ value: WRITE_NOT_STARTED });
    this.#observe(call.key, "abandoned");
  }

  /** ADMIN_WRITE_WAIT_MS after the call started, and it still holds the queue. */
  #pass(call: Call): void {
    if (this.#running !== call) return;
    call.passed = true;
    this.#running = null;
    this.#observe(call.key, "passed");
    this.#startNext();
  }

  #end(call: Call, reply: Reply): void {
    call.stage = "ended";
    call.cancelDeadline();
    call.cancelPass();
    call.memo.endedAt = this.#clock.now();
    call.reply(reply);
    if (this.#running !== call) return;
    this.#running = null;
    this.#startNext();
  }

  /** Calls that ended more than REMEMBER_MS ago. In any order: an abandoned or passed call ends out of turn. */
  #forgetEnded(): void {
    const before = this.#clock.now() - REMEMBER_MS;
    for (const [key, memo] of this.#memo) {
      if (memo.endedAt !== null && memo.endedAt <= before) this.#memo.delete(key);
    }
  }

  /** Below REMEMBERED_CALLS ended calls, the oldest forgotten first. */
  #makeRoom(): void {
    const ended = [...this.#memo].filter(([, memo]) => memo.endedAt !== null);
    for (let i = 0; i <= ended.length - REMEMBERED_CALLS; i++) {
      const oldest = ended[i];
      if (oldest !== undefined) this.#memo.delete(oldest[0]);
    }
  }
}
