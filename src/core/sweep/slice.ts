/**
 * Operations one invocation may make to other services. Cloudflare's KV
 * limits page counts KV operations and calls to other services against one
 * 1,000 (a bulk read of up to 100 keys is one); its Workers limits page now
 * gives Workers Paid 10,000 subrequests. The sweep keeps under the stricter
 * reading: its KV operations and its RPCs together.
 */
export const INVOCATION_OPERATIONS = 1_000;
/** The KV list page: 1,000 keys per `list`. */
const LIST_PAGE = 1_000;
/** Keys per bulk read (KV_BULK_GET_MAX in registry/kv-registry.ts). */
const BULK_GET = 100;

/**
 * What a run makes besides its coordinators' RPCs, with n services: the
 * listing, every record in bulk reads, `sweep:last` read and written, and
 * the route registry's rebuild (one RPC).
 */
export function sweepOverhead(n: number): number {
  return Math.ceil(n / LIST_PAGE) + Math.ceil(n / BULK_GET) + 2 + 1;
}

/**
 * Coordinators one run may sweep (two RPCs each: configure, sweep): `max`,
 * or fewer once reading every record takes enough of the invocation's
 * operations that 2 × `max` would pass INVOCATION_OPERATIONS (past about
 * 9,000 services). At least one, so a run always moves on; past about 90,000
 * services the reads alone pass the limit, which the scale model flags.
 */
export function sliceSize(n: number, max: number): number {
  return Math.max(1, Math.min(max, Math.floor((INVOCATION_OPERATIONS - sweepOverhead(n)) / 2)));
}

/**
 * Which services one cron run sweeps. A run may make 1,000 subrequests and
 * sweeping a coordinator takes two (configure, sweep), so a mesh with more
 * services than one run can take is swept a slice at a time, in name order,
 * each run starting where the last one stopped and wrapping round: every
 * service is swept once every ⌈n / size⌉ runs, whatever is created or deleted
 * in between (a deleted name is skipped, a new one is taken when reached).
 */
export interface SweepSlice {
  /** Indices into the sorted names, in sweep order. */
  readonly indices: readonly number[];
  /** The name the next run starts from; null when this run took every name. */
  readonly nextFrom: string | null;
}

/** `names` sorted ascending (as the KV listing returns them); `from` is the last run's nextFrom. */
export function sweepSlice(names: readonly string[], from: string | null, size: number): SweepSlice {
  const n = names.length;
  if (n <= size) return { indices: names.map((_, i) => i), nextFrom: null };
  let start = 0;
  if (from !== null) {
    // The first name at or after `from`; past the last name the run wraps to the first.
    const at = names.findIndex((name) => name >= from);
    start = at === -1 ? 0 : at;
  }
  const indices = Array.from({ length: size }, (_, k) => (start + k) % n);
  return { indices, nextFrom: names[(start + size) % n] ?? null };
}
