/**
 * One structured line per proxied request. Workers Trace Events Logpush ships
 * console output, so this line is the analytics event (docs/analytics.md).
 */
export interface RequestEvent {
  event: "request";
  ts: string;
  service: string | null;
  method: string;
  host: string;
  path: string;
  status: number;
  outcome: "ok" | "failed_over" | "upstream_error" | "no_healthy_instance" | "no_route";
  instance: string | null;
  attempts: number;
  tried: string[];
  failures: string[];
  latencyMs: number;
  mode: "snapshot" | "strict" | "kv-fallback" | null;
  snapshotVersion: number | null;
}

export function logRequest(event: RequestEvent): void {
  console.log(JSON.stringify(event));
}
