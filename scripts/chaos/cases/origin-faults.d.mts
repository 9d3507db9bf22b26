import type { FaultMode } from "../net/fault-origin.mjs";
import type { Mesh } from "../mesh.mjs";
import type { Row } from "../model/report.mjs";
export interface FaultCase {
  id: string;
  name: string;
  mode: FaultMode;
  health?: boolean;
  total: number;
  concurrency: number;
  method?: "GET" | "POST";
  faultAt?: number;
  flapMs?: number;
  timeoutMs?: number;
  paceMs?: number;
  dns?: boolean;
  targets: ("errors" | "truncation" | "duplicates")[];
  note: string;
}
export const FAULT_CASES: FaultCase[];
export function runFaultCase(mesh: Mesh, c: FaultCase): Promise<Row>;
export function detectorSelfCheck(): Promise<Row>;
export function runOriginFaults(mesh: Mesh, opts?: { only?: string[]; log?: (line: string) => void }): Promise<Row[]>;
