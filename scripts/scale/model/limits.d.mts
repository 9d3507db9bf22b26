import type { Design, ScaleInputs } from "./model.d.mts";
export interface LimitInputs {
  coordinatorRpsByDesign: Partial<Record<Design, number>>;
  kvMaxWritesPerKeyPerS: number;
  worstSubrequests: number;
  servicesPerFlush: number;
  isolateMemoryBytes: number;
}
export type LimitName = "do-requests" | "kv-write-per-key" | "subrequests" | "connections" | "isolate-memory";
export interface LimitFlag {
  limit: LimitName;
  design?: string;
  value: number;
  max: number;
  note: string;
}
export function isolateMemoryBytes(c: ScaleInputs): number;
export function limitFlags(m: LimitInputs): LimitFlag[];
export function shardsNeeded(rps: number): number;
