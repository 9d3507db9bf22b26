import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import { HTTPException } from "hono/http-exception";
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

/** The media types hono's validator reads as JSON (the same test it applies); any other body is never parsed. */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * hono's validator leaves the body as `{}` when the content type is not JSON,
 * so a JSON body sent as text/plain used to come back as "routes: expected
 * object". Say what is actually wrong instead: 415, naming the header.
 */
function requireJsonBody(contentType: string | undefined): void {
  const mediaType = (contentType ?? "").split(";")[0]?.trim() ?? "";
  if (JSON_MEDIA_TYPE.test(mediaType)) return;
  const got = mediaType === "" ? "no content-type" : `content-type ${JSON.stringify(mediaType.slice(0, 100))}`;
  throw new MeshError(415, "unsupported_media_type", `request body must be JSON sent with content-type: application/json (got ${got})`);
}

/** A body that is not JSON, said alike by every endpoint. */
const malformedJson = (): MeshError => invalid([{ path: "(body)", message: "malformed JSON" }]);

/**
 * For an endpoint whose JSON body may be left out: an empty body is `{}`,
 * anything else must be JSON (415 otherwise) and pass `schema` (400 naming
 * each field).
 */
export function parseOptionalJson<T extends z.ZodMiniType>(schema: T, contentType: string | undefined, text: string): z.output<T> {
  let input: unknown = {};
  if (text.trim() !== "") {
    requireJsonBody(contentType);
    try {
      input = JSON.parse(text);
    } catch {
      throw malformedJson();
    }
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw invalid(fieldIssues(parsed.error));
  return parsed.data;
}

/** zValidator whose failures become our 400 body, naming every bad field; a JSON target also needs a JSON content type (415). */
export function validate<T extends z.ZodMiniType, Target extends keyof ValidationTargets>(target: Target, schema: T) {
  const checked = zValidator(target, schema, (result, c) => {
    if (target === "json") requireJsonBody(c.req.header("content-type"));
    if (!result.success) throw invalid(fieldIssues(result.error), target === "json" ? "request body" : target);
  });
  if (target !== "json") return checked;
  // hono's validator answers a body that is not JSON with its own HTTPException, before the hook runs;
  // it becomes the same field-named 400 as an optional body's (parseOptionalJson), so every endpoint says it alike.
  // Only before the handler runs: a 400 HTTPException thrown further down the chain is not about the body's JSON.
  const withMalformedJson: typeof checked = async (c, next) => {
    let handled = false;
    try {
      return await checked(c, async () => {
        handled = true;
        await next();
      });
    } catch (err) {
      if (!handled && err instanceof HTTPException && err.status === 400) throw malformedJson();
      throw err;
    }
  };
  return withMalformedJson;
}
