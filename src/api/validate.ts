import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import * as z from "../core/schema/zod.js";
import { MeshError, type FieldIssue } from "../core/errors.js";
import { serviceNameSchema } from "../core/schema/service.js";

/** The `:name` path parameter every /services/{name} route takes. */
export const nameParam = z.object({ name: serviceNameSchema });

function fieldIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): FieldIssue[] {
  return error.issues.map((i) => ({
    path: i.path.length === 0 ? "(body)" : i.path.map(String).join("."),
    message: i.message,
  }));
}

function invalid(issues: FieldIssue[], what = "request body"): MeshError {
  const first = issues[0];
  const summary = first === undefined ? `invalid ${what}` : `${first.path}: ${first.message}`;
  return new MeshError(400, "invalid_request", `invalid ${what}: ${summary}`, { issues });
}

/** zValidator whose failures become our 400 body, naming every bad field. */
export function validate<T extends z.ZodMiniType, Target extends keyof ValidationTargets>(target: Target, schema: T) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw invalid(fieldIssues(result.error), target === "json" ? "request body" : target);
  });
}
