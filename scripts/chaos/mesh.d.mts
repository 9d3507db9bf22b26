export const ADMIN_TOKEN: string;
export interface Mesh {
  url: string;
  port: number;
  dispose(): Promise<void>;
  /** router_error events the Worker logged (each a 500 mesh_error with its stack). */
  readonly loggedErrors: number;
}
export interface InstanceView {
  id: string;
  url: string;
  state: string;
  ejectedUntil: string | null;
  requests?: number;
  failures?: number;
}
export function startMesh(bundleDir: string, opts: { allowPrivateOrigins: boolean; bindings?: Record<string, string> }): Promise<Mesh>;
export function call(mesh: Mesh, method: string, path: string, opts?: { body?: string; token?: string; contentType?: string }): Promise<{ status: number; text: string }>;
export function createService(mesh: Mesh, name: string, config: Record<string, unknown>): Promise<string>;
export function register(mesh: Mesh, service: string, token: string, url: string): Promise<string>;
export function view(mesh: Mesh, service: string): Promise<{ service: { config: Record<string, unknown> }; instances: InstanceView[] } | null>;
export function until(deadlineMs: number, check: () => Promise<boolean>): Promise<boolean>;
export function parseJson(text: string): unknown;
