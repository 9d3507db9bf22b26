import { normalizePrefix, type RouteConflict, type ServiceRoutes } from "./route-table.js";

/**
 * Which service owns each (host, path prefix) rule, kept incrementally, so a
 * control-plane change checks and claims only its own rules: O(rules of the
 * changed service), not O(every route), however many services exist. The
 * route registry keeps one for the whole mesh (src/registry/route-registry.ts).
 * Rules are normalised exactly as RouteTable normalises them, so a rule this
 * accepts is one the routers' tables accept without a conflict.
 */
export class RouteClaims {
  readonly #owner = new Map<string, string>();
  readonly #rules = new Map<string, readonly string[]>();

  get services(): number {
    return this.#rules.size;
  }

  /** The first rule of `routes` that another service already owns; null when every rule is free (or `name`'s own). */
  conflictFor(name: string, routes: Omit<ServiceRoutes, "service">): RouteConflict | null {
    for (const [host, prefix] of rulesOf(routes)) {
      const owner = this.#owner.get(ruleKey(host, prefix));
      if (owner !== undefined && owner !== name) return { host, prefix, services: [owner, name] };
    }
    return null;
  }

  /** Replaces `name`'s rules (null removes them). Call conflictFor first: a rule another service owns is taken over. */
  set(name: string, routes: Omit<ServiceRoutes, "service"> | null): void {
    for (const key of this.#rules.get(name) ?? []) if (this.#owner.get(key) === name) this.#owner.delete(key);
    this.#rules.delete(name);
    if (routes === null) return;
    const keys = rulesOf(routes).map(([host, prefix]) => ruleKey(host, prefix));
    for (const key of keys) this.#owner.set(key, name);
    this.#rules.set(name, keys);
  }
}

function rulesOf(routes: Omit<ServiceRoutes, "service">): [string | null, string][] {
  const prefixes = routes.pathPrefixes.length > 0 ? routes.pathPrefixes.map(normalizePrefix) : ["/"];
  const hosts: (string | null)[] = routes.hosts.length > 0 ? routes.hosts.map((h) => h.toLowerCase()) : [null];
  const out: [string | null, string][] = [];
  for (const host of hosts) for (const prefix of prefixes) out.push([host, prefix]);
  return out;
}

// NUL cannot occur in a host or a validated prefix, so the key is unambiguous.
const ruleKey = (host: string | null, prefix: string): string => `${host ?? ""}\u0000${prefix}`;
