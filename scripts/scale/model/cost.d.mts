import type { Design, ScaleModel } from "./model.d.mts";
export interface PriceLine {
  included: number;
  perMillion: number;
}
export const PRICES_READ: string;
export const PRICES: Readonly<{
  workersBasePerMonth: number;
  workersRequests: PriceLine;
  workersCpuMs: PriceLine;
  doRequests: PriceLine;
  doDurationGbS: PriceLine;
  doRowsWritten: PriceLine;
  kvReads: PriceLine;
  kvWrites: PriceLine;
  kvDeletes: PriceLine;
  kvLists: PriceLine;
}>;
export const MONTH_S: number;
export function overage(p: PriceLine, used: number): number;
export interface MonthlyCost {
  workers: number;
  doRequests: number;
  doDuration: number;
  doRowsWritten: number;
  kv: number;
  total: number;
  usage: { requests: number; doRequests: number; doGbS: number; doRowsWritten: number };
}
export function monthlyCost(m: ScaleModel, design: Design, cpuMsPerRequest: number): MonthlyCost;
