/**
 * The Workers Trace Events Logpush layout (the `workers_trace_events` dataset:
 * developers.cloudflare.com/logs/reference/log-fields/account/workers_trace_events/),
 * built from a tail Worker's trace item. The local Logpush
 * (workers/logpush-local/) writes these records, so its R2 objects read like
 * a real Logpush job's and `npm run logs:report` reads both the same way.
 * Pure: the tail Worker passes in the items, the clock and the random suffix.
 */

/** The parts of a runtime TraceItem this layout reads (structurally, so tests need no runtime). */
export interface TraceItemLike {
  readonly event: unknown;
  readonly eventTimestamp: number | null;
  readonly logs: readonly { readonly timestamp: number; readonly level: string; readonly message: unknown }[];
  readonly exceptions: readonly { readonly timestamp: number; readonly name: string; readonly message: string }[];
  readonly scriptName: string | null;
  readonly entrypoint?: string | undefined;
  readonly dispatchNamespace?: string | undefined;
  readonly scriptTags?: readonly string[] | undefined;
  readonly scriptVersion?: { readonly id?: string | undefined; readonly tag?: string | undefined; readonly message?: string | undefined } | undefined;
  readonly outcome: string;
  readonly cpuTime: number;
  readonly wallTime: number;
}

export interface TraceEventRecord {
  CPUTimeMs: number;
  DispatchNamespace: string;
  Entrypoint: string;
  Event: Record<string, unknown> | null;
  EventTimestampMs: number;
  EventType: string;
  Exceptions: { Name: string; Message: string; TimestampMs: number }[];
  Logs: { Level: string; Message: unknown[]; TimestampMs: number }[];
  Outcome: string;
  ScriptName: string;
  ScriptTags: string[];
  ScriptVersion: { Id?: string; Tag?: string; Message?: string };
  WallTimeMs: number;
}

function has(o: unknown, key: string): o is Record<string, unknown> {
  return typeof o === "object" && o !== null && key in o;
}

/** The dataset's EventType values, told apart by the shape of the trace item's event. */
export function eventType(event: unknown): string {
  if (has(event, "request")) return "fetch";
  if (has(event, "cron")) return "scheduled";
  if (has(event, "scheduledTime")) return "alarm";
  if (has(event, "rpcMethod")) return "worker_rpc";
  if (has(event, "queue")) return "queue";
  if (has(event, "mailFrom")) return "email";
  if (has(event, "getWebSocketEvent")) return "hibernatable_web_socket";
  return "unknown";
}

/**
 * `Event` as the dataset has it for a fetch: the Ray ID, the request's URL and
 * method, and the response status. The query string is dropped, as the mesh's
 * own request line drops it: it often carries tokens.
 */
function fetchEvent(event: Record<string, unknown>): Record<string, unknown> {
  const request = event.request;
  const headers = has(request, "headers") ? request.headers : null;
  const ray = has(headers, "cf-ray") && typeof headers["cf-ray"] === "string" ? headers["cf-ray"] : "";
  const url = has(request, "url") && typeof request.url === "string" ? request.url.split("?")[0] ?? "" : "";
  const method = has(request, "method") && typeof request.method === "string" ? request.method : "";
  const status = has(event.response, "status") && typeof event.response.status === "number" ? event.response.status : null;
  return { RayID: ray, Request: { URL: url, Method: method }, ...(status === null ? {} : { Response: { Status: status } }) };
}

function otherEvent(event: unknown): Record<string, unknown> | null {
  if (has(event, "rpcMethod")) return { RpcMethod: event.rpcMethod };
  if (has(event, "cron")) return { Cron: event.cron, ScheduledTime: event.scheduledTime };
  if (has(event, "scheduledTime")) {
    const at = event.scheduledTime;
    return { ScheduledTime: at instanceof Date ? at.getTime() : at };
  }
  return null;
}

export function traceEventRecord(item: TraceItemLike, now: number): TraceEventRecord {
  const version = item.scriptVersion;
  return {
    CPUTimeMs: item.cpuTime,
    DispatchNamespace: item.dispatchNamespace ?? "",
    Entrypoint: item.entrypoint ?? "",
    Event: has(item.event, "request") ? fetchEvent(item.event) : otherEvent(item.event),
    EventTimestampMs: item.eventTimestamp ?? now,
    EventType: eventType(item.event),
    Exceptions: item.exceptions.map((e) => ({ Name: e.name, Message: e.message, TimestampMs: e.timestamp })),
    // console.log's arguments arrive as an array; a lone value is wrapped so every reader sees one shape.
    Logs: item.logs.map((l) => ({ Level: l.level, Message: Array.isArray(l.message) ? (l.message as unknown[]) : [l.message], TimestampMs: l.timestamp })),
    Outcome: item.outcome,
    ScriptName: item.scriptName ?? "",
    ScriptTags: item.scriptTags === undefined ? [] : [...item.scriptTags],
    ScriptVersion: {
      ...(version?.id === undefined ? {} : { Id: version.id }),
      ...(version?.tag === undefined ? {} : { Tag: version.tag }),
      ...(version?.message === undefined ? {} : { Message: version.message }),
    },
    WallTimeMs: item.wallTime,
  };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** `YYYYMMDDTHHMMSSZ`, Logpush's compact UTC form. */
export function compactTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
}

/**
 * The object name a Logpush job to R2 gives a batch with the default
 * `{DATE}` path: `YYYYMMDD/<first event>_<last event>_<random>.log.gz`, the
 * two times being the batch's earliest and latest EventTimestampMs.
 */
export function logpushObjectKey(records: readonly TraceEventRecord[], now: number, suffix: string): string {
  let first = Infinity;
  let last = -Infinity;
  for (const r of records) {
    if (r.EventTimestampMs < first) first = r.EventTimestampMs;
    if (r.EventTimestampMs > last) last = r.EventTimestampMs;
  }
  if (first === Infinity) first = last = now;
  const start = compactTime(first);
  return `${start.slice(0, 8)}/${start}_${compactTime(last)}_${suffix}.log.gz`;
}

/** NDJSON: one record per line, each line ended by a newline, as Logpush writes it. */
export function toNdjson(records: readonly TraceEventRecord[]): string {
  let out = "";
  for (const r of records) out += JSON.stringify(r) + "\n";
  return out;
}
