import { canonicalPath } from "./canonical-path.js";

/** Where the control plane lives on the mesh Worker: its API, `/_mesh/v1`, and its dashboard, `/_mesh/ui`. */
export const CONTROL_PLANE_ROOT = "/_mesh";

/**
 * Whether a path is the control plane's: `/_mesh` itself or below it, with the
 * path's escapes normalized as the route stage compares them (`/%5Fmesh` is
 * `/_mesh`). The schema refuses such a route prefix and the mesh Worker hands
 * such a request to the control plane, so no service is ever sent one, not
 * even a catch-all (`/`). A path without `%` costs two comparisons.
 */
export function isControlPlanePath(pathname: string): boolean {
  const path = canonicalPath(pathname);
  return path.startsWith(CONTROL_PLANE_ROOT) && (path.length === CONTROL_PLANE_ROOT.length || path.charCodeAt(CONTROL_PLANE_ROOT.length) === 0x2f);
}
