import type { Member } from "../core/membership/member.js";
import { buildSnapshot, snapshotPolicy, snapshotSignature, snapshotValidUntil } from "../core/membership/snapshot-rules.js";
import type { ServiceConfig } from "../core/schema/service.js";
import type { Snapshot } from "../core/snapshot.js";

/**
 * The versioned snapshot routers poll. Building one walks every member, and
 * routers ask for it many times per second while it rarely changes, so the
 * last one is kept until either a state change marks it dirty (membership,
 * health, weight, zone, url, config) or time alone could change it (the
 * earliest ejection end or lease end, core snapshotValidUntil). The version bumps only when the signature changes.
 */
export class SnapshotKeeper {
  #version: number;
  /** "" after a load: the first build bumps the version once, so an ejection that ended while evicted reaches routers. */
  #signature = "";
  #dirty = true;
  #validUntil = 0;
  #last: Snapshot | null = null;
  readonly #persistVersion: (version: number) => void;

  constructor(version: number, persistVersion: (version: number) => void) {
    this.#version = version;
    this.#persistVersion = persistVersion;
  }

  get version(): number {
    return this.#version;
  }

  markDirty(): void {
    this.#dirty = true;
  }

  /** True when the kept snapshot is still right at `now`, so `version` is current without a build. */
  isCurrent(now: number): boolean {
    return !this.#dirty && now < this.#validUntil && this.#last !== null;
  }

  current(members: ReadonlyMap<string, Member>, service: string, panicEnabled: boolean, now: number, config: ServiceConfig | null = null): Snapshot {
    if (this.#last !== null && this.isCurrent(now)) return this.#last;
    const policy = snapshotPolicy(config);
    const snap = buildSnapshot(members.values(), service, this.#version, panicEnabled, now, policy);
    const signature = snapshotSignature(snap);
    if (signature !== this.#signature) {
      this.#signature = signature;
      this.#version++;
      this.#persistVersion(this.#version);
      snap.version = this.#version;
    }
    this.#last = snap;
    this.#dirty = false;
    this.#validUntil = snapshotValidUntil(members.values(), now, policy);
    return snap;
  }
}
