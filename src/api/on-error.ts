import type { ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { MeshError } from "../core/errors.js";

/**
 * The one error handler: typed errors keep their status and code; Hono's own
 * (malformed JSON and the like) become 4xx with their message; anything else
 * is logged with its stack and answered with a bare 500.
 */
export const onError: ErrorHandler = (err) => {
  if (err instanceof MeshError) return err.toResponse();
  if (err instanceof HTTPException) {
    const code = err.status === 401 ? "unauthorized" : err.status === 404 ? "not_found" : "invalid_request";
    return new MeshError(err.status, code, err.message || "bad request").toResponse();
  }
  console.error(JSON.stringify({ event: "api_error", message: String(err), stack: err instanceof Error ? err.stack : undefined }));
  return new MeshError(500, "internal_error", "internal error").toResponse();
};
