import { affinityKey, type AffinityKey, claimedId, fallbackAffinity, pinCookie, readPin, sameToken, signPin } from "../../core/policy/affinity.js";
import type { AffinityConfig } from "../../core/schema/traffic-policy.js";
import type { RequestState } from "../request-state.js";

/**
 * Session affinity at the edge (the rules are in src/core/policy/affinity.ts):
 * the pick stage verifies the value a client sends back, and before respond
 * the value naming the instance that answered is made ready for the
 * Set-Cookie (or affinity header). Both cost one Map lookup once this isolate
 * has seen the instance; only the first sight of one computes an HMAC.
 */

/** Genuine values this isolate has computed or verified, per service and instance. */
const genuine = new Map<string, string>();
/**
 * Bounds the map: ids only enter once verified or issued, so it holds at most
 * the members this isolate has answered with; past the bound it starts over.
 */
const MAX_VALUES = 4096;

let key: { secret: string; key: Promise<AffinityKey> } | null = null;

/**
 * Keyed by MESH_ADMIN_TOKEN (see affinity.ts for why); derived once per
 * isolate and secret. Called before every lookup in `genuine`, so values
 * remembered under a previous secret are never taken for genuine.
 */
function affinityKeyFor(env: Env): Promise<AffinityKey> {
  const secret = env.MESH_ADMIN_TOKEN;
  if (key === null || key.secret !== secret) {
    genuine.clear();
    key = { secret, key: affinityKey(secret) };
  }
  return key.key;
}

/** The affinity this request's pin is read and sent with: the service's own, or after a fallback hop the name the fallback pins hopped requests under. */
function pinAffinity(state: RequestState, affinity: AffinityConfig, service: string): AffinityConfig {
  return state.fallbackFrom === null ? affinity : fallbackAffinity(affinity, service);
}

function remember(at: string, value: string): void {
  if (genuine.size >= MAX_VALUES) genuine.clear();
  genuine.set(at, value);
}

/**
 * Reads the client's value; a genuine one sets `state.pinned`. Returns a
 * promise only when the value's MAC must be computed (first sight of that
 * value in this isolate). A forged or malformed value is ignored: the
 * request is picked as a new session and its answer re-pins.
 */
export function preparePin(state: RequestState, env: Env, service: string, affinity: AffinityConfig): Promise<void> | undefined {
  // The client's own headers: after a fallback hop `state.headers` is the upstream set, which has
  // lost every x-mesh-* header, the default affinity header among them.
  const value = readPin(pinAffinity(state, affinity, service), state.request.headers);
  if (value === null) return undefined;
  const id = claimedId(value);
  if (id === null) return undefined;
  const signing = affinityKeyFor(env);
  const at = `${service}\n${id}`;
  const known = genuine.get(at);
  if (known !== undefined) {
    if (sameToken(known, value)) state.pinned = id;
    return undefined;
  }
  return signing
    .then((k) => signPin(k, service, id))
    .then((expected) => {
      if (!sameToken(expected, value)) return;
      state.pinned = id;
      remember(at, expected);
    })
    .catch((err: unknown) => {
      // Unverifiable is treated as absent: the request is a new session, never an error.
      console.error(JSON.stringify({ event: "affinity_verify_failed", service, message: String(err) }));
    });
}

/**
 * Makes ready what respond sends back: a new cookie when the answering
 * instance is not the one pinned (a new session, or a re-pin after the pinned
 * one failed or left); in header mode the value on every answer, so a client
 * can simply echo what it last got. Only an origin's successful answer pins.
 */
export function preparePinAnswer(state: RequestState, env: Env, secure: boolean): Promise<void> | undefined {
  const configured = state.traffic?.affinity;
  const id = state.lastInstance;
  const svc = state.service;
  if (configured === undefined || svc === null || id === null || state.last?.ok !== true) return undefined;
  const affinity = pinAffinity(state, configured, svc.name);
  if (affinity.mode === "cookie" && id === state.pinned) return undefined;
  const signing = affinityKeyFor(env);
  const at = `${svc.name}\n${id}`;
  const set = (value: string): void => {
    state.pinHeader = affinity.mode === "cookie" ? pinCookie(affinity, value, secure, state.match?.prefix) : value;
  };
  const known = genuine.get(at);
  if (known !== undefined) {
    set(known);
    return undefined;
  }
  return signing
    .then((k) => signPin(k, svc.name, id))
    .then((value) => {
      remember(at, value);
      set(value);
    })
    .catch((err: unknown) => {
      // The answer matters more than the pin: without one the next request is simply picked anew.
      console.error(JSON.stringify({ event: "affinity_sign_failed", service: svc.name, message: String(err) }));
    });
}

/** Adds the value made ready by preparePinAnswer to the client's answer. */
export function addPin(headers: Headers, state: RequestState): void {
  const affinity = state.traffic?.affinity;
  if (affinity === undefined || state.pinHeader === null || state.service === null) return;
  if (affinity.mode === "cookie") headers.append("set-cookie", state.pinHeader);
  else headers.set(pinAffinity(state, affinity, state.service.name).name, state.pinHeader);
}
