import { BALANCERS, BALANCER_KINDS, type BalancerKind } from "../balance/registry.js";
import { DEFAULT_SETTINGS, type BalancerOptionName, type BalancerSettings } from "../balance/settings.js";
import type { BalancerConfig } from "../balance/index.js";
import * as z from "./zod.js";

/**
 * The `balancer` field: a kind (`"least_request"`) or an object with the
 * kind and its options (`{"kind": "least_request", "choiceCount": 3}`). The
 * plain string stays the stored form when no option is given; with options,
 * every option the kind accepts is stored resolved, so `GET` shows what runs.
 * Which options a kind accepts is its registry entry's `options` list.
 */

// RFC 9110 token: what a header (and a cookie) name may be. Headers are matched lowercased.
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;
const named = (what: string, pattern?: RegExp) =>
  z.string().check(z.minLength(1), z.maxLength(128), ...(pattern === undefined ? [] : [z.regex(pattern, `must be a valid ${what} name`)]));

export const hashOnSchema = z.union([
  z.literal("client_ip"),
  z.literal("path"),
  z.strictObject({ header: z.pipe(named("header", TOKEN), z.transform((h: string) => h.toLowerCase())) }),
  z.strictObject({ cookie: named("cookie", TOKEN) }),
  z.strictObject({ query: named("query") }),
]);

/** One schema per option, so each kind is checked for exactly the options it accepts. */
const OPTION_SCHEMAS: { readonly [K in BalancerOptionName]: z.ZodMiniType<BalancerSettings[K]> } = {
  choiceCount: z.number().check(z.int(), z.gte(2), z.lte(10)),
  activeRequestBias: z.number().check(z.gte(0), z.lte(10)),
  decayMs: z.number().check(z.int(), z.gte(100), z.lte(600_000)),
  defaultRttMs: z.number().check(z.gte(0.1), z.lte(60_000)),
  hashOn: hashOnSchema,
};

const KIND_LIST = BALANCER_KINDS.join(", ");

function isKind(value: unknown): value is BalancerKind {
  return typeof value === "string" && Object.hasOwn(BALANCERS, value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

type Issue = { code: "custom"; message: string; input: unknown; path?: PropertyKey[] };

function resolve(input: unknown, issues: Issue[]): BalancerConfig | undefined {
  if (isKind(input)) return input;
  if (!isRecord(input)) {
    issues.push({ code: "custom", message: `must be one of ${KIND_LIST}, or an object {"kind": ..., ...options}`, input });
    return undefined;
  }
  const kind = input["kind"];
  if (!isKind(kind)) {
    issues.push({ code: "custom", message: `must be one of ${KIND_LIST}`, input: kind, path: ["kind"] });
    return undefined;
  }
  const accepted: readonly BalancerOptionName[] = BALANCERS[kind].options;
  const given = Object.keys(input).filter((k) => k !== "kind");
  for (const key of given) {
    if (!(accepted as readonly string[]).includes(key)) {
      const takes = accepted.length === 0 ? "takes no options" : `takes only ${accepted.join(", ")}`;
      issues.push({ code: "custom", message: `unknown option for ${kind}: ${kind} ${takes}`, input: input[key], path: [key] });
    }
  }
  if (given.length === 0) return kind;
  const spec: Record<string, unknown> = { kind };
  for (const key of accepted) {
    if (!(key in input)) {
      spec[key] = structuredClone(DEFAULT_SETTINGS[key]);
      continue;
    }
    const parsed = OPTION_SCHEMAS[key].safeParse(input[key]);
    if (parsed.success) spec[key] = parsed.data;
    else for (const i of parsed.error.issues) issues.push({ code: "custom", message: i.message, input: input[key], path: [key, ...i.path] });
  }
  // Every key of `spec` was checked above against the kind's own option schemas.
  return issues.length === 0 ? (spec as BalancerConfig) : undefined;
}

export const balancerSchema = z.pipe(
  z.unknown(),
  z.transform((input: unknown, ctx): BalancerConfig => {
    const issues: Issue[] = [];
    const config = resolve(input, issues);
    if (config === undefined) {
      for (const issue of issues) ctx.issues.push(issue);
      return z.NEVER;
    }
    return config;
  }),
);

/** Why `routing.mode: "strict"` refuses a kind: said in the 400, at `balancer`. */
export function strictModeRefusal(config: BalancerConfig): string | null {
  const kind = typeof config === "string" ? config : config.kind;
  if (BALANCERS[kind].strict) return null;
  const rotations = BALANCER_KINDS.filter((k) => BALANCERS[k].strict).join(" or ");
  return (
    `${kind} cannot run with routing.mode "strict": strict mode has the coordinator make every pick to keep an exact global rotation, ` +
    `which only ${rotations} have; ${kind} depends on per-isolate load or the request's key, which the coordinator does not see. ` +
    `Use routing.mode "snapshot" or a round-robin balancer`
  );
}
