/** Types for verify-mesh-signature.mjs (kept beside it so TypeScript origins get them with no build step). */

export declare const SIGNATURE_HEADER: "x-mesh-signature";
export declare const CONTENT_SHA256_HEADER: "x-mesh-content-sha256";
export declare const UNSIGNED_PAYLOAD: "UNSIGNED-PAYLOAD";

export interface VerifyInput {
  /** The service's signing secret; pass [new, old] while rotating. */
  secret: string | readonly string[];
  method: string;
  /** Path and query exactly as received (Node: `req.url`), not decoded or normalised. */
  url: string;
  /** Node `req.headers`, a Fetch `Headers`, or a plain record. */
  headers: Headers | Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The raw body bytes; omit (or "") for a request without a body. */
  body?: Uint8Array | string;
  /** Unix milliseconds; defaults to Date.now(). */
  now?: number;
  /** Allowed clock difference either way; default 60. */
  toleranceSeconds?: number;
  /** Accept bodies the mesh streamed unsigned (x-mesh-content-sha256: UNSIGNED-PAYLOAD). Default false. */
  allowUnsignedPayload?: boolean;
  /**
   * Replay protection within the window, the origin's job: called only for an
   * otherwise valid request with a key unique to it and the time (Unix ms) after
   * which the window has closed and the key may be forgotten. Return true if the
   * key was not seen before (and remember it), false for a replay.
   */
  replayGuard?: (key: string, expiresAtMs: number) => boolean | Promise<boolean>;
}

export type VerifyFailure =
  | "missing_signature"
  | "malformed_signature"
  | "timestamp_skew"
  | "bad_signature"
  | "body_mismatch"
  | "unsigned_payload"
  | "replayed";

export type VerifyResult =
  | { ok: true; timestamp: number; unsignedPayload: boolean }
  | { ok: false; reason: VerifyFailure };

export declare function verifyMeshSignature(input: VerifyInput): Promise<VerifyResult>;
