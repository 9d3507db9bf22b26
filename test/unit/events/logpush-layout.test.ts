import { describe, expect, it } from "vitest";
import { compactTime, eventType, logpushObjectKey, toNdjson, traceEventRecord, type TraceItemLike } from "../../../src/core/events/logpush-layout.js";

const T = Date.parse("2026-11-30T10:04:05.678Z");

function item(over: Partial<TraceItemLike> = {}): TraceItemLike {
  return {
    event: { request: { url: "https://mesh.example.com/shop/x?token=secret", method: "GET", headers: { "cf-ray": "8e1f-LHR" } }, response: { status: 200 } },
    eventTimestamp: T,
    logs: [{ timestamp: T + 1, level: "log", message: ['{"event":"request"}'] }],
    exceptions: [],
    scriptName: "switchyard",
    outcome: "ok",
    cpuTime: 1,
    wallTime: 3,
    ...over,
  };
}

describe("the Workers Trace Events layout", () => {
  it("maps a fetch trace item to the dataset's fields, without the query string", () => {
    expect(traceEventRecord(item(), T)).toEqual({
      CPUTimeMs: 1,
      DispatchNamespace: "",
      Entrypoint: "",
      Event: { RayID: "8e1f-LHR", Request: { URL: "https://mesh.example.com/shop/x", Method: "GET" }, Response: { Status: 200 } },
      EventTimestampMs: T,
      EventType: "fetch",
      Exceptions: [],
      Logs: [{ Level: "log", Message: ['{"event":"request"}'], TimestampMs: T + 1 }],
      Outcome: "ok",
      ScriptName: "switchyard",
      ScriptTags: [],
      ScriptVersion: {},
      WallTimeMs: 3,
    });
  });

  it("names the event type of alarms, RPC and cron, and keeps exceptions", () => {
    expect(eventType({ scheduledTime: new Date(T) })).toBe("alarm");
    expect(eventType({ rpcMethod: "report" })).toBe("worker_rpc");
    expect(eventType({ cron: "* * * * *", scheduledTime: T })).toBe("scheduled");
    const r = traceEventRecord(item({ event: { scheduledTime: new Date(T) }, exceptions: [{ timestamp: T, name: "Error", message: "boom" }], outcome: "exception", eventTimestamp: null }), T + 9);
    expect(r).toMatchObject({ EventType: "alarm", Event: { ScheduledTime: T }, Exceptions: [{ Name: "Error", Message: "boom", TimestampMs: T }], EventTimestampMs: T + 9 });
  });

  it("names objects like a Logpush job to R2: day folder, first and last event time, random suffix", () => {
    expect(compactTime(T)).toBe("20261130T100405Z");
    const records = [traceEventRecord(item({ eventTimestamp: T + 60_000 }), T), traceEventRecord(item(), T)];
    expect(logpushObjectKey(records, T, "0a1b2c3d")).toBe("20261130/20261130T100405Z_20261130T100505Z_0a1b2c3d.log.gz");
    expect(toNdjson(records).split("\n")).toHaveLength(3);
  });
});
