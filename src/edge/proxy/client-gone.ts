import type { RequestState } from "../request-state.js";

/**
 * Whether the client has gone away before the request's first try or a
 * retry, noted in the state (respond answers 499 client_closed, to no one;
 * the request log and metrics keep it). workerd aborts `request.signal` when
 * the client disconnects, with the `enable_request_signal` compatibility flag
 * (wrangler.toml); without it the signal never aborts and this is always
 * false. A try already under way is left to end as it would have (the body
 * watchers see a client that leaves mid-answer): this only keeps a try from
 * starting for no one, taking an origin's capacity and a concurrency slot
 * from clients that are still there.
 *
 * One property read; the abort listener of a request that waits for a slot
 * is added only while it waits (flow-control.ts).
 */
export function clientGone(state: RequestState): boolean {
  if (!state.request.signal.aborted) return false;
  state.clientClosed = true;
  return true;
}
