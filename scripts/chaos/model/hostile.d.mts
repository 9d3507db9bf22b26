export const MARKER: string;
export type HostileCategory =
  | "ip-notation"
  | "ipv6"
  | "local-name"
  | "idn"
  | "userinfo"
  | "control-chars"
  | "scheme"
  | "oversize"
  | "prototype-key"
  | "type-confusion"
  | "config";
export type HostileExpectation = "reject" | "reject-or-inert";
export interface HostileCase {
  id: string;
  category: HostileCategory;
  target: "instance" | "service";
  service?: string;
  body: string;
  contentType?: string;
  expect: HostileExpectation;
  marker?: string;
}
export type HostileOutcome = "refused" | "neutralised" | "accepted" | "server-error" | "no-answer";
export function ipv4Spellings(octets: number[]): [string, string][];
export function hostileCases(): HostileCase[];
export function controlCases(): HostileCase[];
export function classifyHostile(c: HostileCase, seen: { status: number | null; readback: string | null }): HostileOutcome;
