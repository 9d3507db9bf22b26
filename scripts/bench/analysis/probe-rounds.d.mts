export interface ProbeRound {
  first: number;
  last: number;
  count: number;
  complete: boolean;
}
export function splitRounds(probes: [number, string][], n: number, gapMs?: number): ProbeRound[];
export function cpuBetween(samples: [number, number][], from: number, to: number): number;
