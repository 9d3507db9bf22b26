import type { Balancer, BalancerOptions } from "./balancer.js";
import { BALANCERS, type BalancerKind } from "./registry.js";
import { DEFAULT_SETTINGS, type BalancerSettings, type HashOn } from "./settings.js";

export type { Balancer, BalancerOptions, Candidate, HostLoad } from "./balancer.js";
export { BALANCERS, BALANCER_KINDS, type BalancerEntry, type BalancerKind } from "./registry.js";
export { DEFAULT_SETTINGS, type BalancerOptionName, type BalancerSettings, type HashOn } from "./settings.js";

/**
 * The `balancer` field of a service config, as stored: the kind alone when no
 * option was given, else the kind with every option it accepts resolved.
 */
export type BalancerSpec = { readonly kind: BalancerKind } & Readonly<Partial<BalancerSettings>>;
export type BalancerConfig = BalancerKind | BalancerSpec;

export function balancerKind(config: BalancerConfig): BalancerKind {
  return typeof config === "string" ? config : config.kind;
}

/** Every option resolved, defaults for those not given. */
export function balancerSettings(config: BalancerConfig): BalancerSettings {
  return typeof config === "string" ? { ...DEFAULT_SETTINGS } : { ...DEFAULT_SETTINGS, ...config };
}

/** What a hash kind hashes; null for every other kind. Reads two properties, allocates nothing. */
export function hashOnOf(config: BalancerConfig): HashOn | null {
  if (typeof config === "string") return BALANCERS[config].hashed ? DEFAULT_SETTINGS.hashOn : null;
  return BALANCERS[config.kind].hashed ? (config.hashOn ?? DEFAULT_SETTINGS.hashOn) : null;
}

/** A string equal for equal configs, whatever object holds them (a route table reload makes new objects). */
export function balancerKey(config: BalancerConfig): string {
  return typeof config === "string" ? config : JSON.stringify(config);
}

/**
 * Builds the balancer `config` names. The coordinator calls it with the config
 * alone: rotation from offset 0, Math.random and Date.now.
 */
export function createBalancer(config: BalancerConfig, options: Partial<BalancerOptions> = {}): Balancer {
  return BALANCERS[balancerKind(config)].create(
    { random: options.random ?? Math.random, start: options.start ?? 0, now: options.now ?? Date.now },
    balancerSettings(config),
  );
}
