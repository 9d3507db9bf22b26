import type { LimitFlag } from "./limits.d.mts";
export type { LimitFlag, LimitInputs, LimitName } from "./limits.d.mts";
export interface ScaleInputs {
  locations: number;
  isolatesPerLocation: number;
  rps: number;
  services: number;
  instancesPerService: number;
  healthIntervalS: number;
  leaseTtlS: number;
  doRttMs: number;
  instanceLifetimeH: number;
  failureRate: number;
  attempts: number;
  perTryTimeoutMs: number;
  probeTimeoutMs: number;
  unhealthyThreshold: number;
  consecutiveFailures: number;
  slotsPerLease: number;
  slotLeaseMs: number;
}
export type Design = "snapshot" | "strict" | "sharedRefresh" | "leasedSlots";
export interface LoadByKind {
  snapshotRefresh: number;
  strictLeases: number;
  reports: number;
  heartbeats: number;
  registrations: number;
  sweep: number;
  total: number;
}
export interface ReportRate {
  flushesPerS: number;
  reportsPerS: number;
  windowS: number;
  shareInFlush: number;
}
export interface CoordinatorLoad {
  serviceRps: number;
  perIsolateServiceRps: number;
  triesPerRequest: number;
  report: ReportRate;
  byDesign: Record<Design, LoadByKind>;
}
export interface KvPerDay {
  reads: number;
  writes: number;
  deletes: number;
  lists: number;
  maxWritesPerKeyPerS: number;
  readsByKind: { routeIndex: number; auth: number; sweep: number };
}
export interface Subrequests {
  mean: number;
  servicesPerFlush: number;
  worst: number;
}
export interface Staleness {
  busyMs: number;
  slowCoordinatorMs: number;
  unreachableMs: number;
  sharedBusyMs: number;
}
export interface DeadOriginTimes {
  localKillMs: number;
  localHangMs: number;
  passiveEjection: boolean;
  everywhereKillMs: number;
  everywhereHangMs: number;
  everywhereKillSharedMs: number;
  idleServiceMs: number;
}
export interface ScaleModel {
  inputs: ScaleInputs;
  load: CoordinatorLoad;
  kv: KvPerDay;
  subrequests: Record<Design, Subrequests>;
  staleness: Staleness;
  deadOrigin: DeadOriginTimes;
  isolateMemoryBytes: number;
  flags: LimitFlag[];
  shards: Record<Design, number>;
}
export const DEFAULT_INPUTS: Readonly<ScaleInputs>;
export const DESIGNS: readonly Design[];
export const DESIGN_LABELS: Readonly<Record<Design, string>>;
export function requestDrivenRefreshRate(ttlS: number, latencyS: number, lambda: number): number;
export function pickBatchRate(picksPerS: number, rttS: number, maxBatch: number): number;
export function leasedSlotRate(picksPerS: number, slots: number, leaseS: number): number;
export function reportRate(serviceTriesPerS: number, isolateTriesPerS: number, failureRate: number): ReportRate;
export function triesPerRequest(failureRate: number, attempts: number): number;
export function coordinatorLoad(c: ScaleInputs): CoordinatorLoad;
export function kvPerDay(c: ScaleInputs): KvPerDay;
export function subrequests(c: ScaleInputs, design: Design): Subrequests;
export function staleness(c: ScaleInputs): Staleness;
export function deadOriginTimes(c: ScaleInputs): DeadOriginTimes;
export function scaleModel(c: ScaleInputs): ScaleModel;
