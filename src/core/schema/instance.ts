import * as z from "./zod.js";

/** Body of `POST /_mesh/v1/services/{name}/instances`. */
export const registerInstanceSchema = z.strictObject({
  url: z
    .string()
    .check(
      z.maxLength(2048),
      z.refine((u: string) => URL.canParse(u), "must be an absolute http(s) URL"),
      z.refine((u: string) => /^https?:\/\//i.test(u), "must use http or https"),
    ),
  weight: z._default(z.number().check(z.int(), z.gte(1), z.lte(1000)), 1),
  zone: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  metadata: z.optional(
    z
      .record(z.string().check(z.maxLength(64)), z.string().check(z.maxLength(256)))
      .check(z.refine((m: Record<string, string>) => Object.keys(m).length <= 16, "at most 16 entries")),
  ),
  ttlSeconds: z.optional(z.number().check(z.int(), z.gte(5), z.lte(86_400))),
});

export const instanceIdSchema = z.string().check(z.regex(/^[a-f0-9]{16}$/, "must be an instance id (16 hex digits)"));

/** Membership state, owned by the lease; health is tracked separately. */
export type Membership = "active" | "draining" | "expired";
/** What the API shows: membership wins over health. */
export type PublicState = "healthy" | "unhealthy" | "draining" | "expired";
