import type { RequestState } from "../request-state.js";
import { requireJwt, type AuthRefusal } from "./authenticate.js";
import { edgeRateLimit, type EdgeLimitRefusal } from "./edge-limit.js";
import { enforceRateLimits, type RateLimitRefusal } from "./rate-limit.js";
import { shedLoad, type ShedRefusal } from "./shed.js";

/**
 * Bodies up to this size are read into memory so a failed try can be resent
 * to another instance; larger or unsized (chunked) bodies are streamed to the
 * first instance and never retried. Workers have 128 MB per isolate; 1 MiB
 * per in-flight request keeps hundreds of concurrent uploads safe.
 */
export const RETRY_BODY_CAP_BYTES = 1024 * 1024;

/** Why admission turned a request away; respond.ts turns it into the answer. */
export type Refusal = { readonly outcome: "client_error"; readonly message: string } | AuthRefusal | RateLimitRefusal | EdgeLimitRefusal | ShedRefusal;

/**
 * An admission policy looks at a routed request before any origin is tried
 * and refuses it, or lets it through (null). Policies run in list order; the
 * first refusal wins. Rate limits and load shedding are added here as
 * entries, each a plain function of the request state. A policy answers
 * synchronously unless it must wait (reading the body), so a request that
 * needs no waiting allocates no promise here.
 */
type Verdict = Refusal | null;
type AdmissionPolicy = (state: RequestState, request: Request, env: Env) => Verdict | Promise<Verdict>;

const UNREADABLE_BODY: Refusal = { outcome: "client_error", message: "could not read the request body" };

/**
 * Decides how the body travels: read into memory (replayable) when it is
 * small and sized, streamed otherwise. A body the client fails to deliver is
 * the client's error, not an origin's.
 */
function takeBody(state: RequestState, request: Request): Verdict | Promise<Verdict> {
  // The method first: reading request.body is a call into the runtime, and most requests are GETs.
  if (state.method === "GET" || state.method === "HEAD" || request.body === null) return null;
  const length = request.headers.get("content-length");
  if (length === null || Number(length) > RETRY_BODY_CAP_BYTES) {
    state.body = request.body;
    state.replayable = false;
    return null;
  }
  return readBody(state, request);
}

async function readBody(state: RequestState, request: Request): Promise<Verdict> {
  try {
    state.body = await request.arrayBuffer();
    return null;
  } catch {
    return UNREADABLE_BODY;
  }
}

// The edge binding's coarse per-location guard first (unbound, one property read), then
// shedding (it costs one hash, and a shed client's token is not worth checking),
// then authentication: a request that will be refused is not worth reading the body of.
// Rate limits after it (jwtClaim keys need the verified claims) and before the body.
const POLICIES: readonly AdmissionPolicy[] = [edgeRateLimit, shedLoad, requireJwt, enforceRateLimits, takeBody];

/**
 * Stage 2, admit: runs the admission policies; null lets the request through.
 * Returns a promise only once a policy has had to wait.
 */
export function admit(state: RequestState, request: Request, env: Env): Verdict | Promise<Verdict> {
  return runFrom(0, state, request, env);
}

function runFrom(first: number, state: RequestState, request: Request, env: Env): Verdict | Promise<Verdict> {
  for (let i = first; i < POLICIES.length; i++) {
    const policy = POLICIES[i];
    if (policy === undefined) break;
    const verdict = policy(state, request, env);
    if (verdict instanceof Promise) return waitThenRunFrom(verdict, i + 1, state, request, env);
    if (verdict !== null) return verdict;
  }
  return null;
}

async function waitThenRunFrom(pending: Promise<Verdict>, next: number, state: RequestState, request: Request, env: Env): Promise<Verdict> {
  const verdict = await pending;
  return verdict !== null ? verdict : runFrom(next, state, request, env);
}
