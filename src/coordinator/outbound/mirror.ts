import { KEY } from "../../registry/keys.js";
import { deleteInstance, listKeys, putInstance } from "../../registry/kv-registry.js";
import type { Member } from "../../core/membership/member.js";
import { toSnapshotInstance } from "../../core/membership/member.js";

/**
 * The KV mirror of a service's active members (`instance:<service>:<id>`),
 * which routers fall back to when the coordinator cannot be reached. The
 * coordinator writes it on membership changes; the sweep repairs drift.
 */

/** Deletes mirror keys; a failure is logged and left for the next repair. */
export async function unmirror(kv: KVNamespace, service: string, ids: readonly string[]): Promise<void> {
  const results = await Promise.allSettled(ids.map((id) => deleteInstance(kv, service, id)));
  for (const r of results) {
    if (r.status === "rejected") {
      console.error(JSON.stringify({ event: "mirror_delete_failed", service, message: String(r.reason) }));
    }
  }
}

/** Makes the mirror hold exactly the active members; returns how many keys it fixed. */
export async function repairMirror(kv: KVNamespace, service: string, members: ReadonlyMap<string, Member>): Promise<number> {
  const prefix = KEY.instancePrefix(service);
  const mirrored = new Set((await listKeys(kv, prefix)).map((k) => k.slice(prefix.length)));
  const stray = [...mirrored].filter((id) => members.get(id)?.membership !== "active");
  const missing = [...members.values()].filter((m) => m.membership === "active" && !mirrored.has(m.id));
  await unmirror(kv, service, stray);
  await Promise.all(missing.map((m) => putInstance(kv, service, toSnapshotInstance(m))));
  return stray.length + missing.length;
}
