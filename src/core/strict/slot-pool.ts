import type { SnapshotInstance } from "../snapshot.js";

/**
 * Strict mode by leased rotation slots (issue 13 §2). An isolate takes a block
 * of k consecutive positions of the service's one round-robin from the
 * coordinator and serves them locally, in order, one per pick. This file is
 * the isolate's side as pure rules: the pool of granted slots, when to renew,
 * how big a block to ask for, and when outstanding slots are void.
 *
 * Fairness bound: a block is exact (its k positions are consecutive in the
 * global rotation). An isolate renews when half a block is left, so it holds
 * at most the unserved half of one block plus the next: 1.5 k slots. Over any
 * interval, what the isolates served differs from an exact global rotation
 * only by slots granted but not (yet) served, so each isolate skews any
 * instance's count by at most 1.5 k, that is at most 384 (MAX_LEASE_SLOTS);
 * at its usual k (LEASE_TARGET_MS of its own traffic) far less. With one
 * isolate and no revocation or expiry, the rotation is exact.
 *
 * Revocation: a grant carries the coordinator's snapshot version. Any version
 * the isolate sees later (its snapshot refresh, the next grant) that is newer
 * voids every slot granted under an older one, so no pick goes to a removed
 * or newly unhealthy instance after that refresh. Slots also void after
 * LEASE_MAX_AGE_MS, so a pool left over from a busy spell is not served
 * seconds later against a rotation that moved on.
 */

/** The block size aims at a lease lasting this long at the isolate's current rate. */
export const LEASE_TARGET_MS = 250;
/** Slots older than this are void (the lease window: about 100 ms to 1 s). */
export const LEASE_MAX_AGE_MS = 1_000;
/** Most slots one grant carries; also the RPC's refusal bound. */
export const MAX_LEASE_SLOTS = 256;
/** Renew in the background once this share of the current block is left. */
const RENEW_AT_SHARE = 0.5;
/** The rate estimate's window; a new window weighs this much against the old estimate. */
const RATE_WINDOW_MS = 1_000;
const RATE_WEIGHT = 0.5;

/** What the coordinator's leaseSlots RPC answers. */
export type SlotGrant =
  | {
      ok: true;
      version: number;
      allUnhealthy: boolean;
      /** The distinct instances the slots name. */
      instances: SnapshotInstance[];
      /** One entry per slot, in rotation order: an index into `instances`. Empty when nothing is routable. */
      slots: number[];
    }
  | { ok: false; error: "too_many_slots"; max: number };

interface Slot {
  instance: SnapshotInstance;
  version: number;
  grantedAt: number;
}

export class SlotPool {
  #slots: Slot[] = [];
  #head = 0;
  /** The newest snapshot version this pool has seen, from a grant or a refresh. */
  #version = -1;
  /** Size of the last block asked for. */
  #lastAsk = 1;
  allUnhealthy = false;
  /** Slots the last absorbed grant carried; 0 means nothing was routable then. */
  lastGrantSize = -1;
  /** Picks in the current rate window, and the smoothed rate (picks/s). */
  #windowStart = -1;
  #windowPicks = 0;
  #rate = 0;
  /** Picks that found the pool empty since the last grant: demand the next block must cover. */
  #starved = 0;

  get version(): number {
    return this.#version;
  }

  /** Unserved, unexpired slots at `now`. */
  remaining(now: number): number {
    this.#expire(now);
    return this.#slots.length - this.#head;
  }

  /**
   * Serves the next slot whose instance is not in `exclude` (a retry's tried
   * set). A retry may skip ahead within the pool; the skipped slots stay for
   * the next picks, so no granted position is lost. Null when none is left.
   */
  take(now: number, exclude?: ReadonlySet<string>): SnapshotInstance | null {
    this.#count(now);
    this.#expire(now);
    for (let i = this.#head; i < this.#slots.length; i++) {
      const slot = this.#slots[i];
      if (slot === undefined || exclude?.has(slot.instance.id) === true) continue;
      if (i === this.#head) {
        this.#head++;
      } else {
        this.#slots.splice(i, 1);
      }
      this.#compact();
      return slot.instance;
    }
    if (exclude === undefined || exclude.size === 0) this.#starved++;
    return null;
  }

  /** True when a background renewal should start: the pool is at or below half a block. */
  wantsRenewal(now: number): boolean {
    return this.remaining(now) <= Math.floor(this.#lastAsk * RENEW_AT_SHARE);
  }

  /**
   * How many slots to ask for: enough for LEASE_TARGET_MS at the measured
   * rate and never fewer than the picks now waiting, within
   * 1..MAX_LEASE_SLOTS. Until the rate is known (an isolate's first picks),
   * a block that ran dry doubles the next, so a burst ramps up in a few
   * leases. Not after: a pool emptied by slots voiding at an idle rate must
   * not grow the block.
   */
  nextAsk(now: number, waiting: number): number {
    this.#count(now, 0);
    const byRate = Math.ceil((this.#rate * LEASE_TARGET_MS) / 1_000);
    const byDemand = this.#rate === 0 && this.#starved > 0 ? this.#lastAsk * 2 : 0;
    const ask = Math.min(MAX_LEASE_SLOTS, Math.max(1, byRate, byDemand, waiting));
    this.#lastAsk = ask;
    return ask;
  }

  /** Adds a grant's slots after any still held; a newer version voids the older ones first. */
  absorb(grant: Extract<SlotGrant, { ok: true }>, now: number): void {
    this.observeVersion(grant.version);
    if (grant.version < this.#version) return;
    this.allUnhealthy = grant.allUnhealthy;
    this.lastGrantSize = grant.slots.length;
    this.#starved = 0;
    for (const index of grant.slots) {
      const instance = grant.instances[index];
      if (instance !== undefined) this.#slots.push({ instance, version: grant.version, grantedAt: now });
    }
  }

  /** A snapshot version seen elsewhere (the isolate's refresh): newer voids every slot held. */
  observeVersion(version: number): void {
    if (version <= this.#version) return;
    this.#version = version;
    this.#slots = this.#slots.filter((s) => s.version >= version);
    this.#head = 0;
  }

  /** Local evidence (a refused connection, a reset): this isolate serves no more of that instance's slots. */
  dropInstance(id: string): void {
    const kept = this.#slots.slice(this.#head).filter((s) => s.instance.id !== id);
    this.#slots = kept;
    this.#head = 0;
  }

  #expire(now: number): void {
    while (this.#head < this.#slots.length) {
      const slot = this.#slots[this.#head];
      if (slot === undefined || now - slot.grantedAt < LEASE_MAX_AGE_MS) break;
      this.#head++;
    }
    this.#compact();
  }

  /** Keeps the array from growing without bound while staying O(1) per take. */
  #compact(): void {
    if (this.#head === this.#slots.length) {
      this.#slots = [];
      this.#head = 0;
    } else if (this.#head > 64 && this.#head * 2 > this.#slots.length) {
      this.#slots = this.#slots.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Counts one pick (or none, `add` 0) into the rate estimate. */
  #count(now: number, add = 1): void {
    if (this.#windowStart < 0) this.#windowStart = now;
    const elapsed = now - this.#windowStart;
    if (elapsed >= RATE_WINDOW_MS) {
      const windowRate = (this.#windowPicks * 1_000) / elapsed;
      this.#rate = this.#rate === 0 ? windowRate : RATE_WEIGHT * windowRate + (1 - RATE_WEIGHT) * this.#rate;
      this.#windowStart = now;
      this.#windowPicks = 0;
    } else if (this.#rate === 0 && elapsed >= 50 && this.#windowPicks >= 8) {
      // Before the first full window, a burst sets the rate from what it has seen so far.
      this.#rate = (this.#windowPicks * 1_000) / elapsed;
    }
    this.#windowPicks += add;
  }
}

/** The coordinator's side: k consecutive picks from one rotation, as a compact grant. */
export function grantFromPicks(picks: readonly (SnapshotInstance | undefined)[], version: number, allUnhealthy: boolean): Extract<SlotGrant, { ok: true }> {
  const instances: SnapshotInstance[] = [];
  const indexOf = new Map<string, number>();
  const slots: number[] = [];
  for (const pick of picks) {
    if (pick === undefined) continue;
    let index = indexOf.get(pick.id);
    if (index === undefined) {
      index = instances.length;
      instances.push(pick);
      indexOf.set(pick.id, index);
    }
    slots.push(index);
  }
  return { ok: true, version, allUnhealthy, instances, slots };
}
