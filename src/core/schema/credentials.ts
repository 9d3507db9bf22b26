import { isPreviousToken, type ServiceRecord } from "./service.js";

/**
 * Who may register instances, and since when the service exists: the record's
 * fields that only a create, a rotation or a PUT over a damaged record may
 * change. The service's coordinator keeps them as well as KV, and its copy
 * decides (coordinator/admin-writes.ts): it is in the object's own storage,
 * which no lagging KV read can contradict.
 */
export type ServiceCredentials = Pick<ServiceRecord, "tokenHash" | "previousToken" | "createdAt">;

/** The credentials a record carries; a `previousToken` that is not one (a hand edit) is left out. */
export function credentialsOf(record: Pick<ServiceRecord, "tokenHash" | "previousToken" | "createdAt">): ServiceCredentials {
  const previous: unknown = record.previousToken;
  return isPreviousToken(previous)
    ? { tokenHash: record.tokenHash, previousToken: { hash: previous.hash, validUntil: previous.validUntil }, createdAt: record.createdAt }
    : { tokenHash: record.tokenHash, createdAt: record.createdAt };
}

/**
 * What a PUT writes: a new token (`tokenHash`, the PUT's own) when it replaces
 * a damaged record or creates the service; otherwise the credentials in force,
 * the coordinator's (`held`) before the record's, so a record read before a
 * rotation, or not read at all (KV lagging), cannot bring back an old token or
 * mint a second one. The PUT created the service exactly when the result is
 * its own `tokenHash`.
 */
export function credentialsForPut(held: ServiceCredentials | null, existing: ServiceRecord | null, replacing: boolean, tokenHash: string, now: number): ServiceCredentials {
  if (replacing) return { tokenHash, createdAt: now };
  if (held !== null) return held;
  if (existing !== null) return credentialsOf(existing);
  return { tokenHash, createdAt: now };
}

/**
 * A rotation to `tokenHash` from the credentials in force (`held`, else the
 * record's): the token it replaces stays accepted until `validUntil`, the one
 * before that is dropped. The same rotation again (the platform retried the
 * call) changes nothing: rotating twice would drop the replaced token's grace.
 */
export function credentialsForRotation(held: ServiceCredentials | null, base: ServiceCredentials, tokenHash: string, validUntil: number): ServiceCredentials {
  const current = held ?? base;
  if (current.tokenHash === tokenHash) return current;
  return { tokenHash, previousToken: { hash: current.tokenHash, validUntil }, createdAt: current.createdAt };
}
