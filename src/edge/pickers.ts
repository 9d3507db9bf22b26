import type { SnapshotInstance } from "../core/snapshot.js";
import type { RoutedService } from "../registry/route-index.js";
import { getServiceView, markDown, markUp, pickLocal, tryFinished, tryStarted, type ServiceView } from "./snapshot-cache.js";
import { strictPick } from "./strict-pick-batcher.js";

/** How the router chooses an instance for each try of one request. */
export interface Picker {
  pick(tried: ReadonlySet<string>): Promise<SnapshotInstance | undefined>;
  /** Untried instances that could still take a retry. */
  remaining(tried: ReadonlySet<string>): number;
  /** True when the service has members but none is healthy (vs. no members at all). */
  allUnhealthy(): boolean;
  failed(id: string): void;
  succeeded(id: string): void;
  /** Brackets each try, so stalled instances can be avoided; returns a token for tryEnded. */
  tryBegan(id: string): number;
  tryEnded(id: string, token: number): void;
  mode(): "snapshot" | "strict" | "kv-fallback";
  version(): number | null;
}

/** Snapshot mode: everything from isolate memory; the warm path does no I/O. */
export class SnapshotPicker implements Picker {
  readonly #view: ServiceView;
  readonly #stallMs: number;

  constructor(view: ServiceView, perTryTimeoutMs: number) {
    this.#view = view;
    this.#stallMs = perTryTimeoutMs / 4;
  }

  static async create(env: Env, ctx: ExecutionContext, svc: RoutedService, now: number): Promise<SnapshotPicker> {
    return new SnapshotPicker(await getServiceView(env, ctx, svc.name, svc.balancer, now), svc.retry.perTryTimeoutMs);
  }

  pick(tried: ReadonlySet<string>): Promise<SnapshotInstance | undefined> {
    return Promise.resolve(pickLocal(this.#view, tried, Date.now(), this.#stallMs));
  }

  tryBegan(id: string): number {
    const now = Date.now();
    tryStarted(this.#view, id, now);
    return now;
  }

  tryEnded(id: string, token: number): void {
    tryFinished(this.#view, id, token);
  }

  remaining(tried: ReadonlySet<string>): number {
    let n = 0;
    for (const i of this.#view.snapshot.instances) if (!tried.has(i.id)) n++;
    return n;
  }

  allUnhealthy(): boolean {
    return this.#view.snapshot.allUnhealthy;
  }

  failed(id: string): void {
    markDown(this.#view, id, Date.now());
  }

  succeeded(id: string): void {
    markUp(this.#view, id);
  }

  mode(): "snapshot" | "kv-fallback" {
    return this.#view.source === "kv" ? "kv-fallback" : "snapshot";
  }

  version(): number | null {
    return this.#view.snapshot.version;
  }
}

/**
 * Strict mode: the coordinator picks every try, so round-robin is exact across
 * all isolates. Picks from one isolate share RPCs (strict-pick-batcher.ts), so
 * the cost is a DO round trip of latency per try, and the DO's throughput caps
 * the service's rate in picks per RPC rather than in requests. If the DO
 * cannot answer, the request falls back to snapshot mode.
 */
export class StrictPicker implements Picker {
  readonly #env: Env;
  readonly #ctx: ExecutionContext;
  readonly #svc: RoutedService;
  #fallback: SnapshotPicker | null = null;
  #version: number | null = null;
  #allUnhealthy = false;

  constructor(env: Env, ctx: ExecutionContext, svc: RoutedService) {
    this.#env = env;
    this.#ctx = ctx;
    this.#svc = svc;
  }

  async pick(tried: ReadonlySet<string>): Promise<SnapshotInstance | undefined> {
    if (this.#fallback !== null) return this.#fallback.pick(tried);
    try {
      const result = await strictPick(this.#env, this.#ctx, this.#svc.name, [...tried]);
      this.#version = result.version;
      this.#allUnhealthy = result.allUnhealthy;
      return result.instance ?? undefined;
    } catch (err) {
      console.error(JSON.stringify({ event: "strict_pick_failed", service: this.#svc.name, message: String(err) }));
      this.#fallback = await SnapshotPicker.create(this.#env, this.#ctx, this.#svc, Date.now());
      return this.#fallback.pick(tried);
    }
  }

  /** Only the DO knows the count, and asking costs a round trip: say "some", and let the next pick answer. */
  remaining(tried: ReadonlySet<string>): number {
    return this.#fallback !== null ? this.#fallback.remaining(tried) : Number.POSITIVE_INFINITY;
  }

  allUnhealthy(): boolean {
    return this.#fallback !== null ? this.#fallback.allUnhealthy() : this.#allUnhealthy;
  }

  failed(id: string): void {
    this.#fallback?.failed(id);
  }

  succeeded(id: string): void {
    this.#fallback?.succeeded(id);
  }

  tryBegan(id: string): number {
    return this.#fallback !== null ? this.#fallback.tryBegan(id) : 0;
  }

  tryEnded(id: string, token: number): void {
    this.#fallback?.tryEnded(id, token);
  }

  mode(): "snapshot" | "strict" | "kv-fallback" {
    return this.#fallback !== null ? this.#fallback.mode() : "strict";
  }

  version(): number | null {
    return this.#fallback !== null ? this.#fallback.version() : this.#version;
  }
}
