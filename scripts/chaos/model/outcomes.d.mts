export interface Exchange {
  status: number | null;
  error: string | null;
  phase: "headers" | "body" | null;
  receivedBytes: number;
  declaredBytes: number | null;
  declaredSha: string | null;
  receivedSha: string | null;
}
export type ExchangeOutcome = "ok" | "error-status" | "failed-before-headers" | "failed-in-body" | "silent-truncation" | "corrupt-body";
export function classifyExchange(e: Exchange): ExchangeOutcome;
export function summarise(exchanges: Exchange[]): {
  outcomes: Record<ExchangeOutcome, number>;
  statuses: Map<string, number>;
  clientErrors: number;
  total: number;
};
export function formatStatuses(statuses: Map<string, number>): string;
export function duplicateBodies(receivedShas: string[], expected: Set<string>): number;
