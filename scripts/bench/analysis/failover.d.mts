export interface RequestRecord {
  sent: number;
  done: number;
  status: number;
  origin: string | null;
  attempts: number;
  error: string | null;
  reusedSocket: boolean;
}
export interface LatencyRound {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}
export interface FailoverTimeline {
  faultAtS: number | null;
  restoreAtS: number | null;
  perOrigin: Record<string, number[]>;
  errors: number[];
  slowOver100ms: number[];
}
export interface FailoverAnalysis {
  requests: number;
  clientErrors: number;
  meshErrorResponses: number;
  clientSocketErrors: number;
  socketErrorsOnReusedConnections: number;
  errorSamples: string[];
  retriedRequests: number;
  lastToFaultyMs: number | null;
  lastToFaultyUpperBoundMs: number | null;
  lastArrivalAtFaultyOriginMs: number | null;
  requestsTouchingFaultyOrigin: number;
  restoreToTrafficMs: number | null;
  coordinatorUnhealthyAfterMs: number | null;
  coordinatorHealthyAfterRestoreMs: number | null;
  beforeFault: LatencyRound;
  duringFault: LatencyRound;
  timeline: FailoverTimeline;
}
export function analyzeFailover(run: {
  fault: "kill" | "hang";
  records: RequestRecord[];
  t0: number;
  faultTime: number;
  restoreTime: number;
  durationMs: number;
  victimArrivals: number[];
  states: { t: number; state: string }[];
}): FailoverAnalysis;
export function failoverTimeline(records: RequestRecord[], t0: number, faultTime: number, restoreTime: number, durationMs: number): FailoverTimeline;
