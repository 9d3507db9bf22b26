import { isControlPlanePath } from "../routes/control-plane-path.js";
import * as z from "./zod.js";

/** The longest path prefix (and health-check path), in characters of its stored form. */
export const MAX_PATH_LENGTH = 1024;

/**
 * A path as a request's URL carries it: what the WHATWG URL parser (the one
 * that gives the router `url.pathname`) makes of it. Characters a URL path
 * percent-encodes come out encoded (`/café` is `/caf%C3%A9`: clients never
 * send a raw `é`), dot segments are resolved (`/a/../b` is `/b`, `%2e`
 * included) and `\` is `/`. The router and the rate limits compare prefixes
 * with the request's path as it is, so a prefix kept in any other form could
 * never match a request. Idempotent, so a stored (resolved) config parses to
 * itself. The host is fixed and comes first, so a prefix such as `//x` stays
 * a path and is never read as a host.
 */
export function asRequestPath(path: string): string {
  return new URL(`http://h${path}`).pathname;
}

const MESH_RESERVED = "'/_mesh' is reserved for the control plane";

/**
 * A path prefix, stored in its request form (asRequestPath). The length bound
 * applies to what is sent and again to what is stored, which percent-encoding
 * can make longer. `reserveMesh`: refuse `/_mesh` and below, also when only the
 * resolved form names it (`/x/../_mesh`, `/%5Fmesh`); requests there never reach a service.
 */
export function pathPrefixSchema(reserveMesh: boolean) {
  const sent = z
    .string()
    .check(z.maxLength(MAX_PATH_LENGTH), z.regex(/^\/[^\s?#]*$/, "must start with '/' and contain no spaces, '?' or '#'"));
  const stored = z
    .string()
    .check(
      z.maxLength(MAX_PATH_LENGTH, `must be at most ${MAX_PATH_LENGTH} characters once percent-encoded as a request path`),
      z.refine((p: string) => !reserveMesh || !isControlPlanePath(p), MESH_RESERVED),
    );
  return z.pipe(z.pipe(sent, z.transform(asRequestPath)), stored);
}
