import { deleteInstanceKeys } from "../../registry/kv-registry.js";
import type { InstanceTable } from "../storage/instance-table.js";

/**
 * Removing a deleted service's KV mirror, a batch per alarm. One invocation
 * may make 1,000 subrequests (Workers limits), and a service can have more
 * mirror keys than that, so each alarm lists one page and deletes at most
 * PURGE_BATCH keys (1 list + 500 deletes), then re-arms. The progress
 * (`meta.purge`: service and list cursor) is stored, so an evicted object
 * goes on where it stopped; a failed batch is retried PURGE_RETRY_MS later.
 */
export const PURGE_BATCH = 500;
export const PURGE_RETRY_MS = 10_000;

interface PurgeState {
  service: string;
  cursor: string | null;
}

const META_KEY = "purge";

export class MirrorPurge {
  readonly #table: InstanceTable;
  /** After a failed batch, the next one waits until then (memory only: an evicted object simply tries again). */
  #retryAt = 0;

  constructor(table: InstanceTable) {
    this.#table = table;
  }

  /** When the next batch should run, or null when there is nothing to remove. */
  dueAt(now: number): number | null {
    return this.#read() === null ? null : Math.max(now, this.#retryAt);
  }

  /** Starts (or restarts, from the first key) removing `service`'s mirror keys. */
  start(service: string): void {
    this.#retryAt = 0;
    this.#write({ service, cursor: null });
  }

  /**
   * One batch. `keep` protects ids that are active members again (the service
   * was created anew while its old keys were being removed). True when a
   * batch was tried (its subrequests are spent), false when none was due.
   */
  async step(kv: KVNamespace, keep: (id: string) => boolean, now: number): Promise<boolean> {
    const state = this.#read();
    if (state === null || this.#retryAt > now) return false;
    try {
      const { cursor } = await deleteInstanceKeys(kv, state.service, PURGE_BATCH, state.cursor, keep);
      // A destroy may have restarted the purge while this batch was in flight: keep its state.
      const latest = this.#read();
      if (latest === null || latest.service !== state.service || latest.cursor !== state.cursor) return true;
      if (cursor === null) this.#table.deleteMeta(META_KEY);
      else this.#write({ service: state.service, cursor });
    } catch (err) {
      console.error(JSON.stringify({ event: "mirror_purge_failed", service: state.service, message: String(err) }));
      this.#retryAt = now + PURGE_RETRY_MS;
    }
    return true;
  }

  #read(): PurgeState | null {
    const text = this.#table.getMeta(META_KEY);
    if (text === null) return null;
    try {
      const v = JSON.parse(text) as { service?: unknown; cursor?: unknown };
      if (typeof v.service !== "string") return null;
      return { service: v.service, cursor: typeof v.cursor === "string" ? v.cursor : null };
    } catch {
      return null;
    }
  }

  #write(state: PurgeState): void {
    this.#table.setMeta(META_KEY, JSON.stringify(state));
  }
}
