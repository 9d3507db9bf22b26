import { MeshError } from "../core/errors.js";
import { KV_METADATA_LIMIT_BYTES, MAX_PRIORITY, MAX_WEIGHT } from "../core/schema/instance.js";
import { isPreviousToken, serviceConfigSchema, type ServiceRecord } from "../core/schema/service.js";
import type { SnapshotInstance } from "../core/snapshot.js";
import { KEY } from "./keys.js";

/**
 * Typed access to the REGISTRY namespace. KV is eventually consistent (a write
 * can take up to 60 s to reach every location) and allows one write per second
 * per key, so only membership and config changes write here; heartbeats never do.
 */

/** Stored as the key's metadata so the router fallback can list members without a get per key (metadata is capped at 1024 bytes). */
export interface InstanceKeyMetadata {
  url: string;
  weight: number;
  zone: string | null;
  /** Present only when not 0, and only when it fits the 1,024 bytes (core/schema/instance.ts). */
  priority?: number;
}

const utf8 = new TextEncoder();

/**
 * A `service:<name>` value that is not a record the mesh wrote: not JSON,
 * without its config, token hash or times, or with a config the service schema
 * refuses (someone edited KV by hand, or it was damaged). Answered as a typed 500 that says how to get out of it. The
 * service list names it apart; PUT replaces it and DELETE removes it. The
 * sweep records it as an error and then leaves the route index alone, and the
 * route registry's first load (after an upgrade) refuses route claims until it
 * is fixed, rather than drop that service's live routes from the index.
 */
export class RecordUnreadable extends MeshError {
  constructor(readonly service: string, why: string) {
    super(500, "record_unreadable", `the stored record of service '${service}' (KV key ${KEY.service(service)}) ${why}; PUT the service again to replace it (a new registration token is issued), or DELETE it`);
  }
}

/** A time a Date can hold (ECMA-262: ±8.64e15 ms); publicService turns both into ISO strings. */
function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && Math.abs(value) <= 8.64e15;
}

/**
 * The record, with its config as the schema resolves it, or why it is not one. The config is checked
 * whole, not only for being an object: one of the wrong shape was listed as a service, pushed into
 * its coordinator by the sweep and broke the route index rebuild for every service; a time no Date
 * can hold made the service list a 500. A config written before a field with a default existed gets
 * that default, as the coordinator reads its stored copy (core/membership/stored.ts).
 */
function asServiceRecord(value: unknown): ServiceRecord | string {
  if (typeof value !== "object" || value === null) return "lacks its name, config, token hash or version";
  const r = value as Record<string, unknown>;
  if (typeof r.name !== "string" || typeof r.config !== "object" || r.config === null || typeof r.tokenHash !== "string" || typeof r.updatedAt !== "number") {
    return "lacks its name, config, token hash or version";
  }
  if (!isTime(r.createdAt) || !isTime(r.updatedAt)) return "has a creation or update time that is not one";
  const config = serviceConfigSchema.safeParse(r.config);
  if (!config.success) {
    const issue = config.error.issues[0];
    return `has a config that fails the service schema (${issue === undefined ? "invalid" : `${issue.path.join(".") || "config"}: ${issue.message}`})`;
  }
  // A previousToken of another shape is dropped, not refused: the current token must keep working,
  // and a later PUT or rotation then writes the record without it.
  const { previousToken, ...rest } = value as ServiceRecord;
  return isPreviousToken(previousToken) ? { ...rest, config: config.data, previousToken } : { ...rest, config: config.data };
}

/** The service's record, null when there is none, or the damage as a value: for the calls that go on past it (list, PUT, DELETE). */
export async function readService(kv: KVNamespace, name: string): Promise<ServiceRecord | RecordUnreadable | null> {
  return parseRecord(name, await kv.get(KEY.service(name), "text"));
}

/** Keys one bulk KV read may name (Workers KV docs). */
export const KV_BULK_GET_MAX = 100;

/**
 * Many services' records, in `names` order, as readService reads one: by bulk
 * reads of up to KV_BULK_GET_MAX keys, each one KV operation. A Worker
 * invocation may make at most 1,000 KV operations, so reading every record
 * one get at a time failed once a deployment passed about a thousand
 * services; this way the sweep, the service list and the route registry's
 * first load read 1,000 records in 10.
 */
export async function readServices(kv: KVNamespace, names: readonly string[]): Promise<(ServiceRecord | RecordUnreadable | null)[]> {
  const out: (ServiceRecord | RecordUnreadable | null)[] = [];
  for (let i = 0; i < names.length; i += KV_BULK_GET_MAX) out.push(...(await readChunk(kv, names.slice(i, i + KV_BULK_GET_MAX))));
  return out;
}

/**
 * As readServices, but a bulk read that throws fails only the names it
 * carried: each of them gets that error as its value, and the other reads go
 * on. For the cron sweep, which goes on past a failed read; readServices
 * throws instead, for the callers that cannot.
 */
export async function readServicesSettled(kv: KVNamespace, names: readonly string[]): Promise<(ServiceRecord | Error | null)[]> {
  const out: (ServiceRecord | Error | null)[] = [];
  for (let i = 0; i < names.length; i += KV_BULK_GET_MAX) {
    const chunk = names.slice(i, i + KV_BULK_GET_MAX);
    try {
      out.push(...(await readChunk(kv, chunk)));
    } catch (err) {
      const failed = err instanceof Error ? err : new Error(String(err));
      out.push(...chunk.map(() => failed));
    }
  }
  return out;
}

/** Up to KV_BULK_GET_MAX records in one bulk read (one KV operation). */
async function readChunk(kv: KVNamespace, chunk: readonly string[]): Promise<(ServiceRecord | RecordUnreadable | null)[]> {
  const texts = await kv.get(chunk.map(KEY.service), "text");
  return chunk.map((name) => parseRecord(name, texts.get(KEY.service(name)) ?? null));
}

/*
 * Records already parsed in this isolate, by name, with the exact text they
 * came from. KV is still read every time (a rotated token or a new config must
 * reach every isolate at once); only the parse is skipped when the text is the
 * same. The full schema check is what makes this worth it: it runs on every
 * heartbeat and registration, the hottest calls of the control plane. Kept
 * records are frozen, so a caller that tried to change one in place would
 * throw instead of changing the next caller's copy. Bounded by clearing, by
 * count and by size: a config may be up to 256 KiB (MAX_CONFIG_BODY_BYTES),
 * so 512 of the largest held 128 Mi characters of text alone, with their
 * parses on top, past an isolate's 128 MB.
 */
const PARSED_MAX = 512;
/** Characters of record text kept at most (about 8 MB as UTF-16, with the parses about as much again). */
export const PARSED_MAX_CHARS = 4 * 1024 * 1024;
const parsed = new Map<string, { text: string; record: ServiceRecord }>();
let parsedChars = 0;

/** Characters of record text the memo holds now (for tests). */
export function parsedRecordChars(): number {
  return parsedChars;
}

function parseRecord(name: string, text: string | null): ServiceRecord | RecordUnreadable | null {
  if (text === null) return null;
  const kept = parsed.get(name);
  if (kept !== undefined && kept.text === text) return kept.record;
  const read = parseText(name, text);
  if (!(read instanceof RecordUnreadable)) {
    if (kept !== undefined) {
      parsed.delete(name);
      parsedChars -= kept.text.length;
    }
    if (parsed.size >= PARSED_MAX || parsedChars + text.length > PARSED_MAX_CHARS) {
      parsed.clear();
      parsedChars = 0;
    }
    Object.freeze(read.config);
    if (text.length <= PARSED_MAX_CHARS) {
      parsed.set(name, { text, record: Object.freeze(read) });
      parsedChars += text.length;
    }
  }
  return read;
}

function parseText(name: string, text: string): ServiceRecord | RecordUnreadable {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return new RecordUnreadable(name, "is not JSON");
  }
  const record = asServiceRecord(value);
  if (typeof record === "string") return new RecordUnreadable(name, record);
  // A value copied under another key: the sweep's rebuild would route it under the name it carries.
  if (record.name !== name) return new RecordUnreadable(name, `names another service (${JSON.stringify(record.name.slice(0, 64))})`);
  return record;
}

/** The service's record, or null; a damaged one is thrown (a typed 500 record_unreadable). */
export async function getService(kv: KVNamespace, name: string): Promise<ServiceRecord | null> {
  const read = await readService(kv, name);
  if (read instanceof RecordUnreadable) throw read;
  return read;
}

export async function putService(kv: KVNamespace, record: ServiceRecord): Promise<void> {
  await kv.put(KEY.service(record.name), JSON.stringify(record));
}

/**
 * Deletes the service's record only. Its `instance:*` mirror keys can be more
 * than one invocation may delete (1,000 subrequests), so the coordinator
 * removes them in batches from its alarm (deleteInstanceKeys).
 */
export async function deleteService(kv: KVNamespace, name: string): Promise<void> {
  await kv.delete(KEY.service(name));
}

/**
 * One page of a service's mirror keys, at most `limit` (KV lists up to 1,000
 * per call): deletes those `keep` does not claim and returns the cursor to go
 * on from, null when the listing is complete. Costs 1 list + up to `limit`
 * deletes. Going on by cursor, not by listing from the start again, matters:
 * a deleted key can stay in other locations' listings for up to 60 s.
 */
export async function deleteInstanceKeys(
  kv: KVNamespace,
  service: string,
  limit: number,
  cursor: string | null,
  keep: (id: string) => boolean,
): Promise<{ deleted: number; cursor: string | null }> {
  const prefix = KEY.instancePrefix(service);
  const page = await kv.list({ prefix, limit, ...(cursor === null ? {} : { cursor }) });
  const doomed = page.keys.map((k) => k.name).filter((k) => !keep(k.slice(prefix.length)));
  await Promise.all(doomed.map((k) => kv.delete(k)));
  return { deleted: doomed.length, cursor: page.list_complete ? null : page.cursor };
}

export async function listKeys(kv: KVNamespace, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await kv.list({ prefix, ...(cursor === undefined ? {} : { cursor }) });
    for (const k of page.keys) keys.push(k.name);
    if (page.list_complete) return keys;
    cursor = page.cursor;
  }
}

export async function listServiceNames(kv: KVNamespace): Promise<string[]> {
  const keys = await listKeys(kv, KEY.servicePrefix);
  return keys.map((k) => k.slice(KEY.servicePrefix.length)).sort();
}

export async function putInstance(kv: KVNamespace, service: string, instance: SnapshotInstance): Promise<void> {
  const metadata: InstanceKeyMetadata = { url: instance.url, weight: instance.weight, zone: instance.zone };
  // The KV fallback honours priority levels when the metadata has room (all but urls near the 926-byte cap
  // with a 64-byte zone); location is not carried (it would take ~60 bytes from every url's budget).
  if (instance.priority !== undefined && instance.priority !== 0) {
    const withPriority: InstanceKeyMetadata = { ...metadata, priority: instance.priority };
    if (utf8.encode(JSON.stringify(withPriority)).length <= KV_METADATA_LIMIT_BYTES) metadata.priority = instance.priority;
  }
  await kv.put(KEY.instance(service, instance.id), JSON.stringify(instance), { metadata });
}

export async function deleteInstance(kv: KVNamespace, service: string, id: string): Promise<void> {
  await kv.delete(KEY.instance(service, id));
}

function isHttpUrl(url: unknown): url is string {
  if (typeof url !== "string") return false;
  try {
    const { protocol } = new URL(url);
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * One key's metadata as the KV fallback routes on it. Metadata the mesh did not
 * write (a hand edit, a damaged or older key) is read field by field, as the
 * coordinator reads its stored rows: no usable http(s) url leaves the key out
 * (the router would build "undefined/path"), and a weight, zone or priority out
 * of the registration schema's range becomes its default (a string weight made
 * weighted_round_robin's scores strings).
 */
function mirroredInstance(id: string, metadata: unknown): SnapshotInstance | null {
  if (typeof metadata !== "object" || metadata === null) return null;
  const field = (key: keyof InstanceKeyMetadata): unknown => Reflect.get(metadata, key);
  const url = field("url");
  if (!isHttpUrl(url)) return null;
  const w = field("weight");
  const weight = typeof w === "number" && Number.isInteger(w) && w >= 1 && w <= MAX_WEIGHT ? w : 1;
  const zone = field("zone");
  const i: SnapshotInstance = { id, url, weight, zone: typeof zone === "string" ? zone : null };
  const p = field("priority");
  if (typeof p === "number" && Number.isInteger(p) && p > 0 && p <= MAX_PRIORITY) i.priority = p;
  return i;
}

/** Active members as mirrored in KV: the router's fallback when the Durable Object cannot be reached. */
export async function listInstances(kv: KVNamespace, service: string): Promise<SnapshotInstance[]> {
  const prefix = KEY.instancePrefix(service);
  const out: SnapshotInstance[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await kv.list<InstanceKeyMetadata>({ prefix, ...(cursor === undefined ? {} : { cursor }) });
    for (const k of page.keys) {
      const i = mirroredInstance(k.name.slice(prefix.length), k.metadata);
      if (i !== null) out.push(i);
    }
    if (page.list_complete) return out;
    cursor = page.cursor;
  }
}
