/**
 * Which isolate of a location asks the coordinator for a service's snapshot,
 * when several fall due together (issue 13 §3). Without this, every isolate
 * that found the location's copy stale asked, and isolates that fell due within
 * one round trip of each other all did: 3 refreshes a second from 8 routers
 * in the bench, and more as isolates per location grow.
 *
 * The rule, over a store with last-writer-wins puts (the Cache API):
 * 1. Read the copy; a fresh one is adopted. Then read the claim.
 * 2. A live claim by another isolate: follow it (3). Otherwise put our own
 *    claim, wait CLAIM_SETTLE_MS and read it back: ours means we ask; another's
 *    (it was put after ours), we follow that one.
 * 3. A follower reads the copy at fixed points after the claim was made
 *    (CLAIM_POLLS_MS), adopting the first fresh one. If none has come when the
 *    claim lapses (CLAIM_MS), it goes back to 1 once, so a slow or lost
 *    claimer is replaced by one new claimer, not by every follower at once;
 *    after that round it asks itself. A lost claimer costs a late refresh,
 *    never none.
 *
 * Why exactly one of a wave asks: the claim is read last, just before the put,
 * so an isolate that read before another's claim landed puts its own within
 * one store call of that read. When a store call takes less than the settle
 * wait, every such put lands before the first claimer reads back, so all read
 * back the same last claim, and only its writer asks. A slower store (a put
 * not yet visible when the others read back) lets more than one ask, as before
 * the claim; none is never the outcome.
 *
 * A refresh that a request waits on cannot spend the settle wait: it puts its
 * claim, so isolates falling due after it follow, and asks at once (`settle`
 * false). Only isolates that read within the same store call ask beside it.
 *
 * Pure: the store, the clock and the wait are parameters.
 */

/** Wait between putting a claim and reading it back: longer than one store call (about a millisecond in a data center). */
export const CLAIM_SETTLE_MS = 20;
/** How long a claim holds the others back: a coordinator round trip from a far location, with room to spare. */
export const CLAIM_MS = 400;
/**
 * When a follower reads the copy, in ms after the claim was made: dense where
 * a near coordinator's answer lands (settle, three store calls and the round
 * trip: about 45 ms at a 20 ms round trip), sparse after, so a follower makes
 * at most six reads a round (each is a subrequest).
 */
export const CLAIM_POLLS_MS: readonly number[] = [30, 60, 100, 150, 250, CLAIM_MS];
/** A lapsed claim is replaced once; then each isolate still waiting asks. */
const ROUNDS = 2;

export interface RefreshClaim {
  /** The claiming refresh's own random id. */
  id: string;
  /** Claimer's clock when it claimed. */
  at: number;
}

export interface ClaimStore<C> {
  readCopy(): Promise<C | null>;
  readClaim(): Promise<RefreshClaim | null>;
  putClaim(claim: RefreshClaim): Promise<void>;
  sleep(ms: number): Promise<void>;
  now(): number;
}

export interface ClaimRules<C> {
  /** Whether a copy may be adopted: fresh, and not older than what the isolate holds. */
  usable(copy: C): boolean;
  /** True once the isolate must ask itself while following (a local mark made meanwhile: the copy may predate it). */
  abandon(): boolean;
  /** False for a refresh a request waits on: claim and ask at once. */
  settle: boolean;
}

export type ClaimOutcome<C> = { kind: "adopt"; copy: C } | { kind: "ask" };

const ASK = { kind: "ask" } as const;

const live = (claim: RefreshClaim | null, now: number): claim is RefreshClaim =>
  claim !== null && now - claim.at < CLAIM_MS && claim.at <= now + CLAIM_MS;

/** Runs the rule for one due refresh. Store errors propagate; the caller treats them as "ask". */
export async function claimOrFollow<C>(store: ClaimStore<C>, id: string, rules: ClaimRules<C>): Promise<ClaimOutcome<C>> {
  for (let round = 0; round < ROUNDS; round++) {
    const copy = await store.readCopy();
    if (copy !== null && rules.usable(copy)) return { kind: "adopt", copy };
    let claim = await store.readClaim();
    if (!live(claim, store.now()) || claim.id === id) {
      await store.putClaim({ id, at: store.now() });
      if (!rules.settle) return ASK;
      await store.sleep(CLAIM_SETTLE_MS);
      claim = await store.readClaim();
      // Ours, or none at all (the store dropped it): ask. Another's live claim was put after ours: follow it.
      if (claim === null || claim.id === id || !live(claim, store.now())) return ASK;
    }
    const followed = await follow(store, claim, rules);
    if (followed !== null) return followed;
  }
  return ASK;
}

/**
 * Reads the copy at the claim's poll points still ahead; null when the claim
 * lapsed with no copy. The waits are worked out once from the clock, so a
 * clock that stands still between reads cannot hold a follower longer.
 */
async function follow<C>(store: ClaimStore<C>, claim: RefreshClaim, rules: ClaimRules<C>): Promise<ClaimOutcome<C> | null> {
  let at = Math.max(0, store.now() - claim.at);
  for (const point of CLAIM_POLLS_MS) {
    if (point <= at) continue;
    await store.sleep(point - at);
    at = point;
    if (rules.abandon()) return ASK;
    const copy = await store.readCopy();
    if (copy !== null && rules.usable(copy)) return rules.abandon() ? ASK : { kind: "adopt", copy };
  }
  return null;
}
