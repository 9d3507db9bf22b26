/**
 * Which isolate of a location asks the coordinator for a service's snapshot,
 * when several fall due together (issue 13 §3). Without this, every isolate
 * that found the location's copy stale asked, and isolates that fell due within
 * one round trip of each other all did: 3 refreshes a second from 8 routers
 * in the bench, and more as isolates per location grow.
 *
 * The rule, over a store with last-writer-wins puts (the Cache API):
 * 1. Read the copy and the claim. A fresh copy is adopted.
 * 2. A live claim by another isolate: follow it (3).
 *    Otherwise put our own claim, wait CLAIM_SETTLE_MS, and read again. A fresh
 *    copy by then is adopted; a claim that is ours means we ask; another's, we
 *    follow.
 * 3. A follower reads the copy every CLAIM_POLL_MS until the claim it follows
 *    lapses (CLAIM_MS after it was made), adopting the first fresh one; if none
 *    comes, it asks itself, so a lost leader costs a late refresh, never none.
 *
 * Why exactly one of a wave asks: an isolate that read before another's claim
 * landed puts its own within one store call of that read. When a store call
 * takes less than the settle wait, every such put lands before the first
 * claimer reads back, so all read back the same last claim, and only its
 * writer asks. A slower store (a put not yet visible when the others read
 * back) lets more than one ask, as before the claim; none is never the outcome.
 *
 * Pure: the store, the clock and the wait are parameters.
 */

/** Wait between putting a claim and reading it back: longer than one store call (about a millisecond in a data center). */
export const CLAIM_SETTLE_MS = 20;
/** How long a claim holds the others back: a coordinator round trip from a far location, with room to spare. */
export const CLAIM_MS = 400;
/** A follower's wait between reads of the copy. */
export const CLAIM_POLL_MS = 25;

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

export type ClaimOutcome<C> =
  | { kind: "adopt"; copy: C }
  /** This isolate asks the coordinator (and leaves the copy). `led`: it won the claim; false when a followed claim lapsed. */
  | { kind: "ask"; led: boolean };

const live = (claim: RefreshClaim | null, now: number): claim is RefreshClaim =>
  claim !== null && now - claim.at < CLAIM_MS && claim.at <= now + CLAIM_MS;

/**
 * Runs the rule for one due refresh. `usable` says whether a copy may be
 * adopted (fresh, and not older than what the isolate holds). Store errors
 * propagate; the caller treats them as "ask".
 */
export async function claimOrFollow<C>(store: ClaimStore<C>, id: string, usable: (copy: C) => boolean): Promise<ClaimOutcome<C>> {
  const [copy, claim] = await Promise.all([store.readCopy(), store.readClaim()]);
  if (copy !== null && usable(copy)) return { kind: "adopt", copy };
  if (live(claim, store.now()) && claim.id !== id) return follow(store, claim, usable);

  await store.putClaim({ id, at: store.now() });
  await store.sleep(CLAIM_SETTLE_MS);
  const [settledCopy, settledClaim] = await Promise.all([store.readCopy(), store.readClaim()]);
  if (settledCopy !== null && usable(settledCopy)) return { kind: "adopt", copy: settledCopy };
  // Ours, or none at all (the store dropped it): ask. Another's live claim: it won the last write.
  if (settledClaim === null || settledClaim.id === id || !live(settledClaim, store.now())) return { kind: "ask", led: true };
  return follow(store, settledClaim, usable);
}

/** Polls for the claimer's copy until its claim lapses; the poll count is fixed up front, so a stopped clock cannot hold it. */
async function follow<C>(store: ClaimStore<C>, claim: RefreshClaim, usable: (copy: C) => boolean): Promise<ClaimOutcome<C>> {
  const left = Math.max(0, claim.at + CLAIM_MS - store.now());
  const polls = Math.min(Math.ceil(CLAIM_MS / CLAIM_POLL_MS), Math.max(1, Math.ceil(left / CLAIM_POLL_MS)));
  for (let i = 0; i < polls; i++) {
    await store.sleep(CLAIM_POLL_MS);
    const copy = await store.readCopy();
    if (copy !== null && usable(copy)) return { kind: "adopt", copy };
  }
  return { kind: "ask", led: false };
}
