export type FaultMode =
  | "ok"
  | "refuse"
  | "hang"
  | "reset-before-headers"
  | "reset-mid-body-cl"
  | "reset-mid-body-chunked"
  | "partial-then-hang"
  | "drip"
  | "status-rate"
  | "continue"
  | "big"
  | "clean-truncation";
export interface SeenRequest {
  method: string;
  path: string;
  headers: Map<string, string>;
  body: Buffer;
  at: number;
}
export interface FaultOrigin {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly seen: SeenRequest[];
  start(): Promise<void>;
  setMode(mode: FaultMode, opts?: { health?: boolean }): Promise<void>;
  flap(periodMs: number): void;
  stopFlap(): void;
  heal(): Promise<void>;
  stop(): Promise<void>;
}
export function createFaultOrigin(name: string, opts?: { every?: number }): FaultOrigin;
