import { relayedBodyLength } from "../../core/proxy/body-length.js";
import { DEFAULT_BODY_IDLE_TIMEOUT_MS } from "../../core/schema/service.js";
import { instanceFailed } from "../pick/pick.js";
import { recordOutcomes } from "../report/outcome-reporter.js";
import type { RequestState } from "../request-state.js";
import { BodyFailed, failedBody, logBodyFailed, mayHaveBody, watchBody, type BodyFailure } from "./body-watch.js";
import { releaseRelaySlot } from "./relay-slot.js";

/**
 * Puts the answer respond will relay in `state.relayBody`, watched for a
 * failure half-way. A small sized body was already read whole by the try
 * (try-origin.ts), and an unsized one may have been read ahead to its end
 * (read-ahead.ts): its bytes are relayed as they are, and a sized body's
 * failure to read them that did not fail over (failover.ts: a POST, the last
 * attempt) is relayed as a stream that errors; the try stage counted that try
 * as failed. Any other body goes through the body watcher (body-watch.ts),
 * an unsized one read ahead in part from where the read-ahead stopped. A streamed
 * body that breaks or stalls after a successful try is the origin's failure
 * too: it is marked down in this isolate, and the try, reported as a success
 * by the record stage (which has run by the time a streamed body fails), is
 * turned into a failure at the coordinator (`afterAnswer`: not a second try).
 * A relayed failed answer (a 5xx) was counted already, so only its truncation
 * is made visible. A client that goes away cancels the stream and reports nothing.
 * A capped service's answer keeps its instance's concurrency slot until the
 * relayed body ends, or at once when there is none left to relay (relay-slot.ts).
 */
export function watchRelayedBody(state: RequestState, env: Env, ctx: ExecutionContext): void {
  const last = state.last;
  const svc = state.service;
  const instanceId = state.lastInstance;
  if (last === null || last.response === null || svc === null || instanceId === null) {
    releaseRelaySlot(state);
    return;
  }
  const response = last.response;
  const blame = last.ok;
  const failed = (why: BodyFailure, err: unknown): void => {
    logBodyFailed(svc.name, instanceId, why, err);
    // A client whose upload failed after the answer began is not the origin's doing.
    if (!blame || state.clientFailed) return;
    instanceFailed(state, instanceId);
    recordOutcomes(env, ctx, svc.name, [{ instanceId, ok: false, failure: why, latencyMs: last.latencyMs, afterAnswer: true }]);
  };
  const read = last.ok ? last.body : null;
  if (read instanceof BodyFailed) {
    // Counted and marked by the try stage (failover.ts); only the line and the client's error are left.
    logBodyFailed(svc.name, instanceId, read.why, read);
    state.relayBody = failedBody(read, relayedBodyLength(response.headers));
    return;
  }
  if (read instanceof ArrayBuffer) {
    state.relayBody = read;
    return;
  }
  // An unsized body read ahead but not to its end goes on from where the try got to (read-ahead.ts).
  const head = read;
  // Nothing left to relay (HEAD, 204, 304, an empty body): the answer is complete, its slot free.
  if (head === null && (!mayHaveBody(state.method, response) || response.body === null)) {
    releaseRelaySlot(state);
    return;
  }
  // Route indexes written before the field existed lack it.
  const idleMs = svc.retry.bodyIdleTimeoutMs ?? DEFAULT_BODY_IDLE_TIMEOUT_MS;
  // workers-types declare Response.body as ReadableStream<any>; a fetched body is bytes.
  const body = head ?? (response.body as ReadableStream<Uint8Array>);
  const slot = state.relaySlot;
  state.relayBody = watchBody(body, idleMs, relayedBodyLength(response.headers), failed, slot?.release);
  // A capped service's answer holds its slot until the body ends (relay-slot.ts).
  slot?.holdUntilReleased(state.request.signal, ctx);
}
