import type { ScaleInputs } from "../model/model.d.mts";
export interface FlagSpec {
  flag: string;
  key: keyof ScaleInputs | "cpuMsPerRequest";
  min: number;
  integer?: boolean;
  below?: number;
  help: string;
}
export const FLAGS: readonly FlagSpec[];
export const DEFAULT_CPU_MS: number;
export class UsageError extends Error {}
export type ParsedArgs = { help: true } | { help: false; json: boolean; inputs: ScaleInputs; cpuMsPerRequest: number };
export function parseArgs(argv: readonly string[]): ParsedArgs;
export function usage(): string;
