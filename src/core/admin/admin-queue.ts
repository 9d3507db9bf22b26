/**
 * How long a queue knows a call by its key once it has answered. The API retries a coordinator call
 * once, at most 100 ms after it saw the first fail (core/rpc/stub-retry.ts): while the first is still
 * running, or just after it answered. Kept no longer, since an answer can hold a whole config (up to
 * a 256 KiB body), and DOs sharing an isolate share its 128 MB.
 */
const REMEMBER_MS = 10_000;
/** And at most this many, however fast the calls come. */
const REMEMBERED_CALLS = 64;

/**
 * Runs one operation at a time, in the order `run` was called; one failing does not stop the next.
 * A call whose key it has seen is not run again: it gets the first one's answer, waiting for it if
 * need be. The platform's retry of an RPC (coordinator/stub.ts) is such a call: an error it marks
 * retryable does not say the first delivery did not run (its answer may have been lost on the way
 * back, or it may still be waiting its turn here), and run again after the writes that came in
 * between it would undo them: a DELETE answered 404 after deleting, a creating PUT brought back
 * the service a DELETE had just removed, a rotation took back the rotation after it.
 *
 * Pure: the service coordinator's admin writes (coordinator/admin-writes.ts) run through it, but it
 * knows nothing of them, and takes the clock as a parameter.
 */
export class AdminQueue {
  #tail: Promise<unknown> = Promise.resolve();
  /** By key, oldest first: each call's answer, and when it came (null: still running or waiting). */
  readonly #calls = new Map<string, { answer: Promise<unknown>; at: number | null }>();

  readonly #now: () => number;

  constructor(now: () => number = () => Date.now()) {
    this.#now = now;
  }

  run<T>(key: string, op: () => Promise<T>): Promise<T> {
    this.#forgetAnswered();
    const known = this.#calls.get(key);
    // The key names the call, and with it the operation and its answer's type.
    if (known !== undefined) return known.answer as Promise<T>;
    const oldest = this.#calls.keys().next();
    if (this.#calls.size >= REMEMBERED_CALLS && oldest.done !== true) this.#calls.delete(oldest.value);
    const answer = this.#tail.then(op);
    const call: { answer: Promise<unknown>; at: number | null } = { answer, at: null };
    const answered = (): void => {
      call.at = this.#now();
    };
    this.#tail = answer.then(answered, answered);
    this.#calls.set(key, call);
    return answer;
  }

  /** Calls answered more than REMEMBER_MS ago, oldest first: they answer in the order they came. */
  #forgetAnswered(): void {
    const before = this.#now() - REMEMBER_MS;
    for (const [key, call] of this.#calls) {
      if (call.at === null || call.at > before) break;
      this.#calls.delete(key);
    }
  }
}
