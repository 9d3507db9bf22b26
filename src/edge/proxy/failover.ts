import { isWebSocketHandshake, upstreamHeaders } from "../../core/proxy/forward-headers.js";
import { DEFAULT_BODY_IDLE_TIMEOUT_MS, DEFAULT_READ_AHEAD_MS } from "../../core/schema/service.js";
import { decideRetry } from "../../core/retry/retry-policy.js";
import { upstreamPath, upstreamQuery } from "../../core/routes/route-table.js";
import type { RoutedService } from "../../registry/route-index.js";
import type { SnapshotInstance } from "../../core/snapshot.js";
import { instanceAnswered, instanceFailed, instancesLeft, pickFromCoordinator, pickFromLocal, tryBegan, tryEnded, tryRestarted } from "../pick/pick.js";
import type { RequestState } from "../request-state.js";
import { watchRelayedBody } from "./relayed-body.js";
import { watchClientBody } from "./client-body.js";
import { budgetFor, honourRetryAfter, pickWhenSaturated, retryAllowed } from "./flow-control.js";
import { propagateTrace } from "./trace-context.js";
import { tryOrigin, type TryResult } from "./try-origin.js";
import { readAnswerAhead } from "./read-ahead.js";
import { requestDeadline, timedOutOnRequestTime, timeLeft, tryTimeout } from "./request-timeout.js";
import { BodyFailed, logBodyFailed } from "./body-watch.js";
import { clientGone } from "./client-gone.js";
import { holdForRelay, releaseRelaySlot } from "./relay-slot.js";
import { secureAttempt, upstreamSecurity, type UpstreamSecurity } from "./upstream-security.js";

/**
 * Stage 4, try / fail over: picks an instance, tries it (try-origin.ts), and
 * on a failure asks the pure retry policy whether another instance may be
 * tried, up to `retry.attempts` and within the retry budget
 * (flow-control.ts). Each try's outcome is kept in the request state for the
 * record stage; the last result is what respond answers with, its body read
 * whole when small (try-origin.ts) or watched, so a failure half-way through
 * it is seen (relayed-body.ts).
 */
export async function tryInstances(state: RequestState, url: URL, env: Env, ctx: ExecutionContext): Promise<void> {
  const svc = state.service;
  const match = state.match;
  if (svc === null || match === null) throw new Error("try stage reached without a routed service");
  state.webSocket = isWebSocketHandshake(state.method, state.headers);
  state.headers = upstreamHeaders(state.headers, {
    clientIp: state.headers.get("cf-connecting-ip"),
    proto: url.protocol.slice(0, -1),
    host: url.host,
    webSocket: state.webSocket,
  });
  propagateTrace(state, state.headers);
  // A streamed body goes to one try only (never replayed), so one watcher serves the request.
  // Route indexes written before bodyIdleTimeoutMs existed lack it.
  if (state.body instanceof ReadableStream) state.body = watchClientBody(state, state.body, svc.retry.bodyIdleTimeoutMs ?? DEFAULT_BODY_IDLE_TIMEOUT_MS);
  await failOver(state, svc, upstreamPath(url.pathname, match) + upstreamQuery(url), upstreamSecurity(state, env), env, ctx, true);
  watchRelayedBody(state, env, ctx);
}

/**
 * The try stage again, for the service a fallback hop moved the request to
 * (route/fallback.ts): the upstream headers and the client-body watcher are
 * already in place; the fallback service's own upstream security applies.
 * `untried`: the first service made no try, so the fallback's first is the request's.
 */
export async function tryFallback(state: RequestState, url: URL, env: Env, ctx: ExecutionContext, untried: boolean): Promise<void> {
  const svc = state.service;
  const match = state.match;
  if (svc === null || match === null) throw new Error("fallback try reached without a routed service");
  await failOver(state, svc, upstreamPath(url.pathname, match) + upstreamQuery(url), upstreamSecurity(state, env), env, ctx, untried);
  watchRelayedBody(state, env, ctx);
}

async function failOver(
  state: RequestState,
  svc: RoutedService,
  target: string,
  security: UpstreamSecurity | null,
  env: Env,
  ctx: ExecutionContext,
  /** No try of this request has started yet (on another service either). */
  untried: boolean,
): Promise<void> {
  // Route indexes written before the field existed lack it.
  const bodyIdleMs = svc.retry.bodyIdleTimeoutMs ?? DEFAULT_BODY_IDLE_TIMEOUT_MS;
  const readAheadMs = svc.retry.readAheadMs ?? DEFAULT_READ_AHEAD_MS;
  const budget = budgetFor(svc, state.started);
  // retry.requestTimeoutMs: every try of this service ends by this time (request-timeout.ts); null: no such bound.
  const deadline = requestDeadline(state, svc);
  // Snapshot mode: a retry's instance, picked before the retry is paid for (below).
  let ahead: SnapshotInstance | undefined;
  for (let attempt = 1; attempt <= svc.retry.attempts; attempt++) {
    let instance = ahead ?? (state.strict ? await pickFromCoordinator(state, env, ctx) : pickFromLocal(state));
    ahead = undefined;
    // Every instance at its concurrency cap: wait for a slot (bounded), or answer 503 overloaded.
    if (instance === undefined && attempt === 1 && svc.maxConcurrentRequestsPerInstance !== undefined) instance = await pickWhenSaturated(state, svc, deadline);
    if (instance === undefined) break;
    // Too little of the request's time is left for a try (a slot wait or a strict pick took it): none starts.
    // A failed try before it is still the answer; with none, respond answers 504 (or 499 for a client gone).
    if (!timeLeft(deadline)) return outOfTime(state, attempt === 1 && untried, false);
    // Only now that another try will happen is the previous failed answer thrown away.
    const previous = state.last;
    if (previous !== null && previous.response !== null) ctx.waitUntil(previous.response.body?.cancel() ?? Promise.resolve());
    // Its body will not be relayed: its slot (maxConcurrentRequestsPerInstance) is free.
    releaseRelaySlot(state);
    // The slot is taken as the instance is picked: signing and a token fetch wait, and a request picking
    // meanwhile must see it taken (maxConcurrentRequestsPerInstance). Every way out below gives it back.
    let token = tryBegan(state, instance.id);
    try {
      if (security !== null) {
        // Last header change of the try: signing must see the final headers and URL.
        await secureAttempt(security, state, instance.url + target);
        token = tryRestarted(state, instance.id, token);
      }
      // A client gone before the request's first try (in admission, the wait for a slot, a token fetch) gets none.
      if (attempt === 1 && untried && clientGone(state)) return;
      // What is left of the request's time caps the try's; a token fetch or signing may have spent it.
      const tryTimeoutMs = tryTimeout(state, svc, deadline);
      if (tryTimeoutMs === 0) return outOfTime(state, attempt === 1 && untried, true);
      state.lastInstance = instance.id;
      // The state is the try's { method, headers, body } init: no object per try.
      state.last = await tryOrigin(instance.url + target, state, tryTimeoutMs, security?.send, bodyIdleMs);
      // An answer whose body is still to come keeps the slot until it is relayed (relay-slot.ts): taken before
      // `finally` gives back the try's, so the instance is not seen free in between.
      holdForRelay(state, instance.id);
    } finally {
      tryEnded(state, instance.id, token);
    }
    // An unsized answer is read ahead before its headers may go out (read-ahead.ts).
    const reading = readAnswerAhead(state, readAheadMs);
    if (reading !== null) await reading;
    const tried = state.last;
    // A small answer whose body broke or stalled while the try read it whole has sent the client
    // nothing yet: where the policy would retry a reset or a timeout before the headers, it is that
    // failed try and fails over. Otherwise a sized one is relayed as it came, a stream that errors
    // (relayed-body.ts), which aborts the client's connection. An unsized one read ahead is always the
    // failed try (then 502 if not retried): relayed, workerd would end it cleanly, as if whole.
    const result = tried.ok && tried.body instanceof BodyFailed && (!tried.body.sized || (bodyFailureRetries(state, svc, attempt, tried.body) && timeLeft(deadline))) ? bodyFailedTry(state, svc, tried.body, tried.latencyMs) : tried;
    if (result.ok) {
      // A small body that broke while read whole and is relayed broken (not failed over) makes
      // this a failed try: counted once, as one (relayed-body.ts only makes the break visible).
      if (result.body instanceof BodyFailed && !state.clientFailed) {
        state.outcomes.push({ instanceId: instance.id, ok: false, failure: result.body.why, latencyMs: result.latencyMs });
        instanceFailed(state, instance.id);
        return;
      }
      state.outcomes.push({ instanceId: instance.id, ok: true, latencyMs: result.latencyMs });
      instanceAnswered(state, instance.id);
      return;
    }
    // The client's body broke the try (it hung up mid-upload): no outcome, no mark, no retry.
    if (state.clientFailed && result.response === null) return;
    state.outcomes.push({ instanceId: instance.id, ok: false, failure: result.failure.kind, status: result.failure.status, latencyMs: result.latencyMs });
    // A 5xx answer is not marked locally: the origin is up, maybe overloaded; the DO counts it. Nor is a
    // timeout of a try the request's deadline cut short: that was the request's time, not the origin's.
    if (result.failure.kind === "status") honourRetryAfter(state, instance.id, result);
    else if (!timedOutOnRequestTime(state, result.failure.kind)) instanceFailed(state, instance.id);
    (state.tried ??= new Set()).add(instance.id);
    const decision = decideRetry({
      method: state.method,
      failure: result.failure,
      triesMade: attempt,
      policy: svc.retry,
      bodyReplayable: state.replayable,
      instancesLeft: instancesLeft(state),
    });
    if (!decision.retry) return;
    // The request's time is up (retry.requestTimeoutMs): a retry could only time out. Respond relays the last failure.
    if (!timeLeft(deadline)) return;
    // A client gone since its request began gets no retry: it would take an origin's capacity for no one
    // (Envoy likewise stops retrying once the downstream resets). Respond answers 499 client_closed.
    if (clientGone(state)) return;
    // An untried instance may be one no pick can choose now (at its concurrency cap, held back by its
    // Retry-After): the retry budget pays only for a retry that has somewhere to go.
    if (!state.strict) {
      ahead = pickFromLocal(state);
      if (ahead === undefined) return;
    }
    if (!retryAllowed(state, svc, budget)) return;
  }
}

function bodyFailureRetries(state: RequestState, svc: RoutedService, attempt: number, body: BodyFailed): boolean {
  const decision = decideRetry({
    method: state.method,
    failure: { kind: body.why },
    triesMade: attempt,
    policy: svc.retry,
    bodyReplayable: state.replayable,
    instancesLeft: instancesLeft(state) - 1,
  });
  return decision.retry;
}

/** The try as the failed one it was; its bytes are gone with it, so no answer is left to relay from it. */
function bodyFailedTry(state: RequestState, svc: RoutedService, body: BodyFailed, latencyMs: number): TryResult {
  logBodyFailed(svc.name, state.lastInstance, body.why, body);
  const failed: TryResult = { ok: false, failure: { kind: body.why }, response: null, latencyMs };
  state.last = failed;
  return failed;
}

/**
 * No time was left for a try (request-timeout.ts): a client already gone is answered 499, as ever; a
 * failed try before it stays the answer, unless `previousDropped` (its answer was let go for this try),
 * when the request's answer is its timeout; with none, respond answers 504 (deadlinePassed).
 */
function outOfTime(state: RequestState, firstTry: boolean, previousDropped: boolean): void {
  if (firstTry && clientGone(state)) return;
  if (state.last === null) state.deadlinePassed = true;
  else if (previousDropped) state.last = { ok: false, failure: { kind: "timeout" }, response: null, latencyMs: 0 };
}
