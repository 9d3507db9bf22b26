export interface TargetCheck {
  scenario: string;
  target: string;
  measured: string;
  /** null: not measured. */
  pass: boolean | null;
}
/** Checks the targets against one run's results (the JSON `npm run bench` writes). */
export function evaluateTargets(result: { scenarios: Record<string, unknown> }): TargetCheck[];
/** Fewer steady-state rounds than this give the ratio targets no verdict. */
export const MIN_ROUNDS_FOR_VERDICT: number;
