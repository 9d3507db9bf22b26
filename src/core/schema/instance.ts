import { z } from "zod";

/** Body of `POST /_mesh/v1/services/{name}/instances`. */
export const registerInstanceSchema = z
  .object({
    url: z
      .string()
      .max(2048)
      .url("must be an absolute http(s) URL")
      .refine((u) => /^https?:\/\//i.test(u), "must use http or https"),
    weight: z.number().int().min(1).max(1000).default(1),
    zone: z.string().min(1).max(64).optional(),
    metadata: z
      .record(z.string().max(64), z.string().max(256))
      .refine((m) => Object.keys(m).length <= 16, "at most 16 entries")
      .optional(),
    ttlSeconds: z.number().int().min(5).max(86_400).optional(),
  })
  .strict();

export type RegisterInstanceInput = z.input<typeof registerInstanceSchema>;
export type RegisterInstance = z.output<typeof registerInstanceSchema>;

export const instanceIdSchema = z.string().regex(/^[a-f0-9]{16}$/, "must be an instance id (16 hex digits)");

/** Membership state, owned by the lease; health is tracked separately. */
export type Membership = "active" | "draining" | "expired";
/** What the API shows: membership wins over health. */
export type PublicState = "healthy" | "unhealthy" | "draining" | "expired";
