import type { Snapshot } from "../../../src/core/snapshot.js";

export const T0 = 1_000_000;
export const STALL_MS = 250;

/** A coordinator snapshot of equal-weight instances, as routers receive it. */
export function snapshot(ids: readonly string[], version = 1): Snapshot {
  return {
    service: "svc",
    version,
    instances: ids.map((id) => ({ id, url: `http://${id}.test`, weight: 1, zone: null })),
    allUnhealthy: false,
    panic: false,
    generatedAt: T0,
  };
}
