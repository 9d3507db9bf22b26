import type { RequestState } from "../request-state.js";

/**
 * Workers' own Rate Limiting binding (wrangler.toml, `[[ratelimits]]` named
 * EDGE_RATE_LIMIT), which ships commented out: the generated Env has no such
 * field, so it is read through this narrow type, which still typechecks once
 * a deployment uncomments the block and `npm run types` adds it.
 */
interface EdgeLimitBinding {
  readonly EDGE_RATE_LIMIT?: RateLimit;
}

/** A request the binding turned away: answered 429 by respond/refuse.ts, with no origin tried. */
export interface EdgeLimitRefusal {
  readonly outcome: "rate_limited";
  readonly edge: true;
}

const REFUSED: EdgeLimitRefusal = { outcome: "rate_limited", edge: true };

/** Once per isolate: a binding that throws on every call would otherwise log a line per request. */
let failureLogged = false;

/**
 * Admission policy, first in line: with EDGE_RATE_LIMIT bound, every routed
 * request spends one of its client IP's permits in this Cloudflare location,
 * across services, before any exact limit (docs/api.md, "Rate limits"). The
 * binding is a coarse guard: per location, eventually consistent and lenient
 * by design, so it is never what a service's `rateLimits` rely on. Unbound
 * (as shipped), one property read. A binding that fails lets the request
 * through: a broken guard must not take the mesh down with it.
 */
export function edgeRateLimit(_state: RequestState, request: Request, env: Env): EdgeLimitRefusal | null | Promise<EdgeLimitRefusal | null> {
  const limiter = (env as Env & EdgeLimitBinding).EDGE_RATE_LIMIT;
  if (limiter === undefined) return null;
  return ask(limiter, request.headers.get("cf-connecting-ip") ?? "unknown");
}

async function ask(limiter: RateLimit, key: string): Promise<EdgeLimitRefusal | null> {
  try {
    const { success } = await limiter.limit({ key });
    return success ? null : REFUSED;
  } catch (err) {
    if (!failureLogged) {
      failureLogged = true;
      console.error(JSON.stringify({ event: "edge_rate_limit_failed", message: String(err) }));
    }
    return null;
  }
}
