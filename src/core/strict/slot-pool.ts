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
 * at most half of one block plus the next (at most 384 slots: 128 + 256).
 * What the isolates served over an interval differs from an exact global
 * rotation only by slots granted but not served: those an isolate still
 * holds, and those voided in the interval (by age, a newer version, local
 * evidence against an instance, or a revocation). With one isolate and no
 * voided slot, the rotation is exact.
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
/** The rate estimate's window; the old estimate keeps half its weight per window that passed, so an idle spell forgets it. */
const RATE_WINDOW_MS = 1_000;

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
  /** Slots the last absorbed grant carried; 0 means nothing was routable then; -1 none absorbed since the newest version was seen. */
  lastGrantSize = -1;
  /** Picks in the current rate window, and the smoothed rate (picks/s). */
  #windowStart = -1;
  #windowPicks = 0;
  #rate = 0;
  /** Picks that found the pool served dry since the last grant: the block was too small for the rate. */
  #starved = 0;
  /** Slots voided by age since the last grant: a pool emptied that way says nothing about the rate. */
  #expired = 0;

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
    this.#roll(now);
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
      // Only served picks count towards the rate: a failed take, or a waiter's second look, is not demand.
      this.#windowPicks++;
      return slot.instance;
    }
    if ((exclude === undefined || exclude.size === 0) && this.#expired === 0) this.#starved++;
    return null;
  }

  /** True when a background renewal should start: the pool is at or below half a block. */
  wantsRenewal(now: number): boolean {
    return this.remaining(now) <= Math.floor(this.#lastAsk * RENEW_AT_SHARE);
  }

  /**
   * How many slots to ask for: enough for LEASE_TARGET_MS at the measured
   * rate and never fewer than the picks now waiting, within
   * 1..MAX_LEASE_SLOTS. A block that was served dry doubles the next, so a
   * burst ramps up in a few leases before the rate window catches up; a pool
   * emptied by slots voiding at an idle rate does not grow the block.
   */
  nextAsk(now: number, waiting: number): number {
    this.#roll(now);
    const byRate = Math.ceil((this.#rate * LEASE_TARGET_MS) / 1_000);
    const byDemand = this.#starved > 0 ? this.#lastAsk * 2 : 0;
    const ask = Math.min(MAX_LEASE_SLOTS, Math.max(1, byRate, byDemand, waiting));
    this.#lastAsk = ask;
    return ask;
  }

  /**
   * Adds a grant's slots after any still held; a newer version voids the
   * older ones first. False when the grant predates a version already seen:
   * it is dropped whole, and says nothing about what is routable now.
   */
  absorb(grant: Extract<SlotGrant, { ok: true }>, now: number): boolean {
    this.observeVersion(grant.version);
    if (grant.version < this.#version) {
      this.lastGrantSize = -1;
      return false;
    }
    this.allUnhealthy = grant.allUnhealthy;
    this.lastGrantSize = grant.slots.length;
    this.#starved = 0;
    this.#expired = 0;
    for (const index of grant.slots) {
      const instance = grant.instances[index];
      if (instance !== undefined) this.#slots.push({ instance, version: grant.version, grantedAt: now });
    }
    return true;
  }

  /** Voids every slot held (this isolate changed the membership itself); the last grant, even an empty one, is no longer news. */
  clear(): void {
    this.#slots = [];
    this.#head = 0;
    this.lastGrantSize = -1;
  }

  /**
   * A snapshot version seen elsewhere (the isolate's refresh): newer voids
   * every slot held, and what the last grant said (even that nothing was
   * routable) is no longer news: a pick waiting on it asks again.
   */
  observeVersion(version: number): void {
    if (version <= this.#version) return;
    this.#version = version;
    this.lastGrantSize = -1;
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
      this.#expired++;
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

  /**
   * Closes the rate window when it is over. The old estimate keeps half its
   * weight per window that passed, so after an idle spell the rate is what
   * the isolate does now, not what it did before; within a window, a rate
   * above the estimate raises it at once.
   */
  #roll(now: number): void {
    if (this.#windowStart < 0) this.#windowStart = now;
    const elapsed = now - this.#windowStart;
    if (elapsed >= RATE_WINDOW_MS) {
      const windowRate = (this.#windowPicks * 1_000) / elapsed;
      const keep = this.#rate === 0 ? 0 : 0.5 ** (elapsed / RATE_WINDOW_MS);
      this.#rate = keep * this.#rate + (1 - keep) * windowRate;
      this.#windowStart = now;
      this.#windowPicks = 0;
    } else if (elapsed >= 50 && this.#windowPicks >= 8) {
      // Fast up, slow down: a window running at twice the estimate raises it at once, so a burst
      // after an idle spell gets full blocks within tens of ms, not a second. Only at twice: with
      // Poisson picks some stretch of every window runs hotter than the mean by chance, and taking
      // each such stretch as the rate made blocks 28 % larger than LEASE_TARGET_MS of it on average.
      const partial = (this.#windowPicks * 1_000) / elapsed;
      if (partial > 2 * this.#rate) this.#rate = partial;
    }
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
