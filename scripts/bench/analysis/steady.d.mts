export interface Sample {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  cpuUsPerRequest: number;
  sutCpuPercent: number;
  foreignCpuPercent?: number;
  stealPercent?: number;
  logLinesPerRequest?: number;
  picksPerRpc?: number;
}
export interface RowSamples {
  throughput: Sample[];
  latency: Sample[];
}
export interface SteadyRowResult {
  id: string;
  label: string;
  throughput: {
    rps: number | null;
    rpsRounds: (number | null)[];
    p50: number | null;
    p99: number | null;
    cpuUsPerRequest: number | null;
    sutCpuPercent: number | null;
    errors: number;
    foreignCpuPercent: number | null;
    stealPercent: number | null;
    logLinesPerRequest?: number | null;
    picksPerRpc?: number | null;
  };
  latency: { rps: number | null; p50: number | null; p99: number | null; errors: number };
  rpsVsPassthrough: number | null;
  cpuVsPassthrough: number | null;
  cpuAddedUsPerRequest: number | null;
  p50AddedMs: number | null;
}
export function summarizeSteady(rows: { id: string; label: string }[], samples: Record<string, RowSamples>, baselineId: string): SteadyRowResult[];
export function pairedMedian(
  samples: Record<string, RowSamples>,
  id: string,
  referenceId: string,
  pass: "throughput" | "latency",
  f: (x: Sample, ref: Sample) => number,
): number | null;
