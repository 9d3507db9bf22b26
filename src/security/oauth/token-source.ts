import { boundedText } from "../bounded-body.js";
import { waitAtMost } from "../bounded-wait.js";
import { SecurityError } from "../errors.js";
import { basicAuthorization, type IssuedToken, parseTokenResponse, tokenRequestBody } from "./token-response.js";

/**
 * OAuth2 client-credentials tokens for calls to an origin, cached per isolate.
 *
 * Workers edge: a promise started while serving one request may be cancelled
 * when that request ends, and then never settles. So a caller that finds
 * another request's refresh in flight waits for it only `peerWaitMs`, then
 * fetches a token itself; nobody can hang on somebody else's promise.
 */

export interface ClientCredentials {
  tokenUrl: string;
  clientId: string;
  /** The secret's value, read from env by the caller (config holds only its name). */
  clientSecret: string;
  scope?: string | undefined;
}

export interface TokenSourceOptions {
  /** Clock, Unix ms: injected so tests can step past the refresh point. */
  now?: () => number;
  /** How long to wait for a refresh another request started before fetching alone. */
  peerWaitMs?: number;
  /** Timeout of one token request. */
  requestTimeoutMs?: number;
  /**
   * After a failed fetch, calls within this window get the same error without a
   * new request, so a broken token endpoint is not hit once per proxied request.
   */
  failureHoldMs?: number;
}

interface Entry {
  token?: IssuedToken;
  inflight?: { promise: Promise<IssuedToken>; startedAt: number };
  failure?: { error: SecurityError; until: number };
}

/** A token response is a few hundred bytes; the cap bounds what a hostile endpoint can make the isolate buffer. */
export const MAX_TOKEN_RESPONSE_BYTES = 65_536;

// Bounded: the key set is the set of configured services, but configs change.
const MAX_ENTRIES = 256;

export class TokenSource {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #peerWaitMs: number;
  readonly #requestTimeoutMs: number;
  readonly #failureHoldMs: number;

  constructor(options: TokenSourceOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#peerWaitMs = options.peerWaitMs ?? 2_000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
    this.#failureHoldMs = options.failureHoldMs ?? 1_000;
  }

  /** A usable access token; throws SecurityError (502 or 503) when none can be had. */
  async accessToken(creds: ClientCredentials): Promise<string> {
    // The secret is part of the credentials: two services naming one client with different secrets
    // (one of them wrong, or mid-rotation) must each get what their own secret gets, not a shared token.
    // The key lives only in this isolate's memory, next to the env that holds the secret anyway.
    const key = JSON.stringify([creds.tokenUrl, creds.clientId, creds.clientSecret, creds.scope ?? ""]);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
      entry = {};
      this.#entries.set(key, entry);
    }
    const now = this.#now();
    const { token } = entry;
    if (token !== undefined && now < token.refreshAt) return token.accessToken;
    const stillValid = token !== undefined && now < token.expiresAt;
    // A refresh older than its own timeout was cancelled with the request that started it: ignore it.
    const inflight =
      entry.inflight !== undefined && now - entry.inflight.startedAt < this.#requestTimeoutMs + this.#peerWaitMs
        ? entry.inflight.promise
        : undefined;
    // Someone else is already refreshing and ours is still good: no need to wait.
    if (stillValid && inflight !== undefined) return token.accessToken;
    if (entry.failure !== undefined && now < entry.failure.until) {
      if (stillValid) return token.accessToken;
      throw entry.failure.error;
    }

    if (inflight !== undefined) {
      const peer = await this.#waitForPeer(inflight, this.#peerWaitMs);
      if (peer instanceof SecurityError) throw peer;
      if (peer !== undefined) return peer.accessToken;
      // The peer's refresh may be dead, but if another waiter has meanwhile started a newer
      // one, join it for its whole timeout: otherwise every caller waiting on a slow endpoint
      // would start its own request (one per caller, not one between them).
      const newer = entry.inflight;
      if (newer !== undefined && newer.promise !== inflight) {
        const left = newer.startedAt + this.#requestTimeoutMs - this.#now();
        const joined = await this.#waitForPeer(newer.promise, Math.max(left, this.#peerWaitMs));
        if (joined instanceof SecurityError) throw joined;
        if (joined !== undefined) return joined.accessToken;
      }
      // A newer refresh may have come and gone during the wait (a loaded isolate runs timers late): its
      // token is fresh, and fetching again would make one request per waiter after all.
      const fresh = entry.token;
      if (fresh !== undefined && fresh !== token && this.#now() < fresh.refreshAt) return fresh.accessToken;
    }
    try {
      return (await this.#refresh(entry, creds)).accessToken;
    } catch (err) {
      // A refresh that fails while the old token is still valid keeps the old one in use.
      if (stillValid) return token.accessToken;
      throw err;
    }
  }

  /** Forget every cached token (e.g. after the origin answered 401 to one). */
  clear(): void {
    this.#entries.clear();
  }

  /** The peer's token, its error, or undefined if it did not settle in time (it may have been cancelled). */
  #waitForPeer(inflight: Promise<IssuedToken>, ms: number): Promise<IssuedToken | SecurityError | undefined> {
    // #refresh only ever rejects with a SecurityError.
    const settled = inflight.catch((err: unknown) =>
      err instanceof SecurityError ? err : new SecurityError(503, "upstream_auth_unavailable", "token refresh failed"),
    );
    return waitAtMost(settled, ms);
  }

  #refresh(entry: Entry, creds: ClientCredentials): Promise<IssuedToken> {
    const promise = this.#fetchToken(creds).then(
      (token) => {
        entry.token = token;
        delete entry.failure;
        return token;
      },
      (err: unknown) => {
        const error =
          err instanceof SecurityError
            ? err
            : new SecurityError(503, "upstream_auth_unavailable", "token endpoint could not be reached");
        entry.failure = { error, until: this.#now() + this.#failureHoldMs };
        throw error;
      },
    );
    entry.inflight = { promise, startedAt: this.#now() };
    const clear = () => {
      if (entry.inflight?.promise === promise) delete entry.inflight;
    };
    promise.then(clear, clear);
    return promise;
  }

  async #fetchToken(creds: ClientCredentials): Promise<IssuedToken> {
    let res: Response;
    try {
      res = await fetch(creds.tokenUrl, {
        method: "POST",
        headers: {
          authorization: basicAuthorization(creds.clientId, creds.clientSecret),
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: tokenRequestBody(creds.scope),
        redirect: "manual",
        signal: AbortSignal.timeout(this.#requestTimeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && err.name === "TimeoutError";
      throw new SecurityError(
        503,
        "upstream_auth_unavailable",
        timedOut ? "token endpoint did not answer in time" : "token endpoint could not be reached",
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      // The status is safe to show; the body may echo credentials, so it stays out of the message.
      throw new SecurityError(502, "upstream_auth_failed", `token endpoint answered ${res.status}`);
    }
    let text: string | undefined;
    try {
      text = await boundedText(res, MAX_TOKEN_RESPONSE_BYTES);
    } catch {
      // The body broke or stalled past the request's timeout (the signal covers the body too).
      throw new SecurityError(503, "upstream_auth_unavailable", "token endpoint did not send its whole answer in time");
    }
    if (text === undefined) {
      throw new SecurityError(502, "upstream_auth_failed", `token endpoint response is larger than ${MAX_TOKEN_RESPONSE_BYTES} bytes`);
    }
    const parsed = parseTokenResponse(text, this.#now());
    if (!parsed.ok) throw new SecurityError(502, "upstream_auth_failed", parsed.message);
    return parsed.token;
  }
}

/** The isolate's shared token source. */
export const tokenSource = new TokenSource();
