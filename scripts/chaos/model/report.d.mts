export type Verdict = "met" | "missed" | "not available in this build" | "not measured";
export interface Row {
  group: string;
  name: string;
  traffic: string;
  result: string;
  target: string;
  verdict: Verdict;
}
export const NOT_AVAILABLE: "not available in this build";
export function judgeCount(count: number | null, limit?: number): Verdict;
export function judgeAll(counts: (number | null)[]): Verdict;
export function tally(rows: Row[]): Record<Verdict, number>;
export function renderReport(run: { commit: string; dirty: boolean; date: string; durationMs: number; rows: Row[]; notes: string[] }): string;
