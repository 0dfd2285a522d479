// The HealthGate's decisions, kept pure: which checks a gate runs and what their results mean.
// The provider (provider/healthGate.ts) only performs the requests and queries.

/** One check of a gate, in the order it runs. */
export type GateCheck =
  | { readonly kind: "startup" | "live" | "ready"; readonly path: string }
  | {
      readonly kind: "smoke";
      readonly path: string;
      readonly expectStatus: number;
      /** The longest the answer may take; none when absent. */
      readonly maxMs?: number;
    }
  | { readonly kind: "sql"; readonly query: string; readonly minRows: number }
  | { readonly kind: "tcp"; readonly name: string; readonly host: string; readonly port: number }
  | { readonly kind: "command"; readonly name: string; readonly command: readonly string[] };

/** What a check observed. */
export interface CheckResult {
  readonly check: GateCheck;
  readonly ok: boolean;
  /** What was seen, e.g. `answered 503` or `returned 0 rows`. */
  readonly observed: string;
}

/** The gate's inputs that decide which checks run. */
export interface GateSpec {
  readonly live: string;
  readonly ready: string;
  readonly startup?: string;
  readonly smoke: readonly {
    readonly path: string;
    readonly expectStatus: number;
    readonly maxMs?: number;
  }[];
  readonly sql: readonly { readonly query: string; readonly minRows: number }[];
  /** @default [] */
  readonly tcp?: readonly { readonly name: string; readonly host: string; readonly port: number }[];
  /** @default [] */
  readonly command?: readonly { readonly name: string; readonly command: readonly string[] }[];
}

/**
 * The checks in order: startup first (a slow starter must not fail its liveness probe), then
 * liveness and readiness, then the smoke requests and SQL checks of the runbooks, then the
 * dependencies (TCP connections, commands in the app's image).
 */
export function gateChecks(spec: GateSpec): GateCheck[] {
  return [
    ...(spec.startup ? [{ kind: "startup" as const, path: spec.startup }] : []),
    { kind: "live", path: spec.live },
    { kind: "ready", path: spec.ready },
    ...spec.smoke.map((s) => ({ kind: "smoke" as const, ...s })),
    ...spec.sql.map((q) => ({ kind: "sql" as const, ...q })),
    ...(spec.tcp ?? []).map((t) => ({ kind: "tcp" as const, ...t })),
    ...(spec.command ?? []).map((c) => ({ kind: "command" as const, ...c })),
  ];
}

/** A check in a person's words, for errors and reports. */
export function describeCheck(check: GateCheck): string {
  switch (check.kind) {
    case "startup":
    case "live":
    case "ready":
      return `${check.kind} probe GET ${check.path}`;
    case "smoke":
      return (
        `smoke GET ${check.path} (expects ${check.expectStatus}` +
        `${check.maxMs === undefined ? "" : ` within ${check.maxMs} ms`})`
      );
    case "tcp":
      return `dependency ${check.name}: TCP ${check.host}:${check.port}`;
    case "command":
      return `dependency ${check.name}: ${JSON.stringify(check.command)} exits 0`;
    case "sql":
      return `SQL check \`${check.query}\` (expects at least ${check.minRows} rows)`;
    default: {
      const unexpected: never = check;
      throw new Error(`unknown gate check ${JSON.stringify(unexpected)}`);
    }
  }
}

/** Whether an HTTP status passes a check: probes want any 2xx, smoke requests their status. */
export function statusPasses(check: GateCheck, status: number): boolean {
  return check.kind === "smoke" ? status === check.expectStatus : status >= 200 && status < 300;
}

/**
 * Whether a smoke answer passes: its status, and its time within `maxMs` when set.
 * @returns what was observed when it fails, undefined when it passes.
 */
export function smokeProblem(
  check: GateCheck & { kind: "smoke" },
  status: number,
  ms: number,
): string | undefined {
  if (status !== check.expectStatus) return `answered ${status}`;
  if (check.maxMs !== undefined && ms > check.maxMs) {
    return `answered ${status} in ${Math.round(ms)} ms, over the ${check.maxMs} ms limit`;
  }
  return undefined;
}

/** The verdict of a gate: passed, or the message that fails the update, naming every failure. */
export function gateVerdict(results: readonly CheckResult[]): { passed: boolean; message: string } {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) {
    return { passed: true, message: `health gate passed: ${results.length} checks` };
  }
  const lines = failed.map((r) => `  - ${describeCheck(r.check)}: ${r.observed}`);
  return {
    passed: false,
    message: `health gate failed (${failed.length} of ${results.length} checks):\n${lines.join("\n")}`,
  };
}
