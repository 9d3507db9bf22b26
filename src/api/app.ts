import { Hono } from "hono";
import { MeshError } from "../core/errors.js";
import { instances } from "./instances.js";
import { limitBody, rateLimit } from "./limits.js";
import { metrics } from "./metrics.js";
import { onError } from "./on-error.js";
import { services } from "./services.js";

/** The control-plane API under /_mesh/v1 (docs/api.md). */
export const api = new Hono<{ Bindings: Env }>().basePath("/_mesh/v1");

// Limits first: a caller over its rate or a body over its bound costs no KV read, no hash of a body, no parse.
api.use("*", rateLimit);
api.use("*", limitBody);
api.get("/healthz", (c) => c.json({ ok: true }));
// GET /metrics and GET /services/:name/stats: the admin token or the read-only MESH_METRICS_TOKEN.
api.route("/", metrics);
// Instance routes take a service's registration token; service routes (token rotation included) are admin-only.
api.route("/services", instances);
api.route("/services", services);
api.notFound(() => new MeshError(404, "not_found", "no such control-plane endpoint").toResponse());
api.onError(onError);
