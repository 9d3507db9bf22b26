import type { QueueClock } from "../../../src/core/admin/admin-queue.js";

/** Lets every promise settled so far run its callbacks (one macrotask: every queued microtask has run). */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Time that moves only when a test says so. Timers due at the same instant fire in the order they
 * were set, as the Workers runtime's do; between two timers, the promises the first settled run.
 */
export class FakeClock implements QueueClock {
  #now = 0;
  #armed = 0;
  readonly #timers: { at: number; order: number; fn: () => void }[] = [];

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.#now + ms, order: this.#armed++, fn };
    this.#timers.push(timer);
    return () => {
      const i = this.#timers.indexOf(timer);
      if (i >= 0) this.#timers.splice(i, 1);
    };
  }

  /** A promise that resolves `ms` from now, in fake time. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** Moves time `ms` forward, firing each timer due on the way at its own instant. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    await settle();
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (due === undefined) break;
      this.#timers.splice(this.#timers.indexOf(due), 1);
      this.#now = due.at;
      due.fn();
      await settle();
    }
    this.#now = until;
    await settle();
  }

  /** Timers still set: a queue that ended its calls leaves none behind. */
  get pending(): number {
    return this.#timers.length;
  }
}
