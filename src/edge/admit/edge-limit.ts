import { clientNetwork } from "../../core/net/client-network.js";
import type { RequestState } from "../request-state.js";

/**
 * Workers' own Rate Limiting binding (wrangler.toml, `[[ratelimits]]` named
 * EDGE_RATE_LIMIT), which ships commented out: the generated Env has no such
 * field, so it is read through this narrow type, which still typechecks once
 * a deployment uncomments the block and `npm run types` adds it.
 */
interface EdgeLimitBinding {
  readonly EDGE_RATE_LIMIT?: RateLimit;
  /** The block's `period` ("10" or "60"), which the binding does not expose: what Retry-After says. */
  readonly EDGE_RATE_LIMIT_PERIOD?: string;
}

/** A request the binding turned away: answered 429 by respond/refuse.ts, with no origin tried. */
export interface EdgeLimitRefusal {
  readonly outcome: "rate_limited";
  readonly edge: true;
  /** Retry-After: the binding's period, the longest a client can have to wait for its window to end. */
  readonly retryAfterSeconds: number;
}

/** The binding allows these periods only; 60 is the shipped example's, and the safe one when unsaid. */
const PERIODS: Readonly<Record<string, EdgeLimitRefusal>> = {
  "10": { outcome: "rate_limited", edge: true, retryAfterSeconds: 10 },
  "60": { outcome: "rate_limited", edge: true, retryAfterSeconds: 60 },
};
const DEFAULT_PERIOD = "60";

/** Once per isolate each: a binding that throws, or a bad period, would otherwise log a line per request. */
let failureLogged = false;
let periodLogged = false;

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
  const bound = env as Env & EdgeLimitBinding;
  const limiter = bound.EDGE_RATE_LIMIT;
  if (limiter === undefined) return null;
  // An IPv6 client by its /64 (core/net/client-network.ts): fresh addresses from one network share its permits.
  return ask(limiter, clientNetwork(request.headers.get("cf-connecting-ip") ?? "unknown"), refusalFor(bound.EDGE_RATE_LIMIT_PERIOD));
}

function refusalFor(period: string | undefined): EdgeLimitRefusal {
  const key = period ?? DEFAULT_PERIOD;
  // Own keys only: "toString" or "__proto__" would find the object's prototype's members.
  if (Object.hasOwn(PERIODS, key)) return PERIODS[key] as EdgeLimitRefusal;
  if (!periodLogged) {
    periodLogged = true;
    console.error(JSON.stringify({ event: "edge_rate_limit_period_invalid", value: period, message: `EDGE_RATE_LIMIT_PERIOD must be "10" or "60"; answering Retry-After: ${DEFAULT_PERIOD}` }));
  }
  return PERIODS[DEFAULT_PERIOD] as EdgeLimitRefusal;
}

async function ask(limiter: RateLimit, key: string, refusal: EdgeLimitRefusal): Promise<EdgeLimitRefusal | null> {
  try {
    const { success } = await limiter.limit({ key });
    return success ? null : refusal;
  } catch (err) {
    if (!failureLogged) {
      failureLogged = true;
      console.error(JSON.stringify({ event: "edge_rate_limit_failed", message: String(err) }));
    }
    return null;
  }
}
