import * as z from "../schema/zod.js";
import { ejectionEventSchema, healthTransitionEventSchema, leaseExpiredEventSchema } from "./coordinator-events.js";
import { requestEventSchema } from "./request-event.js";

/**
 * Every versioned event line the mesh prints, keyed on `event`. Other
 * structured lines (`sweep`, `report_failed`, ...) are operational messages,
 * not analytics events, and are not versioned (docs/analytics.md).
 */
export const meshEventSchema = z.discriminatedUnion("event", [
  requestEventSchema,
  healthTransitionEventSchema,
  ejectionEventSchema,
  leaseExpiredEventSchema,
]);

export type MeshEvent = z.infer<typeof meshEventSchema>;

export const MESH_EVENT_KINDS = ["request", "health_transition", "ejection", "lease_expired"] as const;
