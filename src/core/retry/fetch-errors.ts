import type { TryFailure } from "./retry-policy.js";

/**
 * What a thrown `fetch` tells the try stage. workerd (measured in the Workers
 * pool, test/worker/router/router-fetch-errors.test.ts) reports:
 *
 * | cause                                   | message                              | `retryable` |
 * |-----------------------------------------|--------------------------------------|-------------|
 * | connection refused                      | "Network connection lost."           | true        |
 * | reset after the request was sent        | "Network connection lost."           | true        |
 * | unresolvable name (DNS)                 | "internal error; reference = <id>"   | absent      |
 * | TLS handshake failure                   | "internal error; reference = <id>"   | absent      |
 * | an answer that is not HTTP              | "internal error; reference = <id>"   | absent      |
 *
 * A refused connection cannot be told from a reset, so "Network connection
 * lost." is always a `reset` (a POST is not resent). The opaque internal error
 * is a DNS or TLS failure, which never sent the request, unless the origin sent
 * something that is not HTTP. An IP-literal target cannot fail DNS (and a
 * loopback or private origin is plain HTTP), so there the internal error stays
 * a `reset`; for a named host the mesh cannot see the difference and counts it
 * as a connect failure: an origin that answers with garbage may see a POST twice.
 */
export interface FetchErrorFacts {
  message: string;
  /** workerd's `retryable` property on the error, when set. */
  retryable: boolean | undefined;
  /** The target URL's hostname (an IPv6 literal keeps its brackets). */
  hostname: string;
}

const WORKERD_INTERNAL = /^internal error; reference = /;
// Messages other runtimes (and workerd's own logs) use for a request that never left.
const NEVER_SENT = /DNS lookup failed|No such host|ENOTFOUND|EAI_AGAIN/i;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function isIpLiteral(hostname: string): boolean {
  return hostname.startsWith("[") || IPV4.test(hostname);
}

export function classifyFetchError(facts: FetchErrorFacts): TryFailure {
  if (NEVER_SENT.test(facts.message)) return { kind: "connect-failure" };
  // workerd marks the connection-level errors it would retry itself; an internal error never carries the mark.
  if (facts.retryable !== true && WORKERD_INTERNAL.test(facts.message) && !isIpLiteral(facts.hostname)) {
    return { kind: "connect-failure" };
  }
  return { kind: "reset" };
}
