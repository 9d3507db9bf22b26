/**
 * What a hash kind hashes: one request header, cookie or query parameter by
 * name, the client address (CF-Connecting-IP) or the path. A request without
 * the key is balanced at random (weighted).
 */
export type HashOn = { header: string } | { cookie: string } | { query: string } | "client_ip" | "path";

/**
 * Every balancer option, resolved. A kind reads only the options its registry
 * entry lists; the rest keep their defaults and are never stored for it.
 */
export interface BalancerSettings {
  /** least_request: hosts drawn per pick when weights are equal (Envoy's `choice_count`). */
  choiceCount: number;
  /** least_request: effective weight = weight ÷ (active + 1)^bias when weights differ (Envoy's `active_request_bias`). */
  activeRequestBias: number;
  /** peak_ewma: the estimate's decay time constant. */
  decayMs: number;
  /** peak_ewma: the estimate for a host with no observation yet. */
  defaultRttMs: number;
  /** ring_hash, maglev: what to hash. */
  hashOn: HashOn;
}

export type BalancerOptionName = keyof BalancerSettings;

export const DEFAULT_SETTINGS: Readonly<BalancerSettings> = {
  choiceCount: 2,
  activeRequestBias: 1,
  decayMs: 10_000,
  defaultRttMs: 30,
  hashOn: "client_ip",
};
