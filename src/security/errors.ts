import { MeshError, type SecurityErrorCode } from "../core/errors.js";

export type { SecurityErrorCode } from "../core/errors.js";

/**
 * Typed errors of the security modules. A MeshError with a security code, so
 * the API's onError and the data plane answer it like any other typed error
 * (`{ "error": code, "message": ... }`, no stack on the wire); the subclass
 * lets callers tell a refused credential from the mesh's other errors.
 */
export class SecurityError extends MeshError {
  declare readonly code: SecurityErrorCode;

  constructor(status: number, code: SecurityErrorCode, message: string, headers: Record<string, string> = {}) {
    super(status, code, message, { headers });
    this.name = "SecurityError";
  }
}

export function isSecurityError(value: unknown): value is SecurityError {
  return value instanceof SecurityError;
}
