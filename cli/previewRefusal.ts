// What a failed preview before `rewind release`'s update means (issue 10, defect 5): pins the
// program, a resource's check or the policy pack refused are bad input (exit 2, nothing
// changed); a preview that could not run because a service is down, or failed for a reason
// nobody stated, is not (exit 3, nothing changed either). Pure: the command feeds it the
// preview's outcome and prints the verdict.
import type { EngineOutcome, PolicyViolation } from "./stackAccess";
import { describe, plain, shortType, typeOf } from "./progress";

/** One refused pin, under the config key it came from. */
export interface Refusal {
  /** The config key (`rewind:app.version`), or the resource input when no key is known. */
  readonly key: string;
  /** Who refused it: `the program`, a resource's check (`ImageRef hunter-image`), a policy. */
  readonly by: string;
  /** What is wrong and what is allowed, in the refuser's words. */
  readonly says: string;
}

export type PreviewVerdict =
  /** The preview passed: the update may run. */
  | { readonly kind: "pass" }
  /** Another update holds the stack: nothing ran. */
  | { readonly kind: "locked" }
  /** Pins that cannot be released, each named: bad input. */
  | { readonly kind: "refused"; readonly refusals: readonly Refusal[] }
  /** The preview could not judge the pins: a service is down, or it failed unexplained. */
  | { readonly kind: "unjudged"; readonly unreachable: boolean; readonly why: string };

/** The parts of a preview's outcome the verdict reads. */
export type PreviewOutcome = Pick<
  EngineOutcome,
  "ok" | "locked" | "violations" | "events" | "error"
>;

// Where the Release's resources take the inputs their checks refuse (components/release.ts);
// an input missing here is named as the resource's own (`AppService x: port`).
const INPUT_KEYS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  ImageRef: { image: "rewind:app.image", version: "rewind:app.version" },
  Restore: { snapshotId: "rewind:restore.snapshot", database: "rewind:database.url" },
  Migration: {
    revision: "rewind:database.revision",
    migrationsDir: "rewind:database.migrations.dir",
    snapshotId: "rewind:backup.beforeMigration",
  },
  DockerDeployment: {
    replicas: "rewind:app.replicas",
    port: "rewind:app.port",
    env: "rewind:app.env",
    health: "rewind:app.health",
  },
  BackupSnapshot: { include: "rewind:backup.include", retain: "rewind:backup.retain" },
};

// A service the preview needs did not answer (adapters/postgres.ts, adapters/docker.ts,
// adapters/registry.ts word it so): the pins were not judged, so this is no bad input.
const UNREACHABLE =
  /connection refused|cannot reach|not reachable|unreachable|did not answer|is it running|starting up or shutting down|too many connections|ECONNREFUSED|ETIMEDOUT/i;

// The program's own failure (index.ts), not the user's config.
const PROGRAM_BUG = /^Rewind's program failed \(a bug/;

// The engine's summary lines, which repeat what the diagnostics before them said.
const ENGINE_SUMMARY = /^(update|preview) failed$|^one or more errors occurred/i;

// `rewind:index:ImageRef resource 'hunter-image': property version value {9.9.9} has a
// problem: …` (the engine's wording of a check failure, with and without a property).
const CHECK_FAILURE =
  /^(\S+) resource '([^']+)'(?:: property (\S+) value [\s\S]*? has a problem| has a problem): ([\s\S]*)$/;

// The program names the stack and the key: `stack "prod": rewind:app.replicas is 0; allowed: …`.
const STACK_PREFIX = /^stack "[^"]*": /;
const CONFIG_KEY = /rewind:[a-z][A-Za-z]*(?:(?:\.[A-Za-z_][A-Za-z0-9_]*)|\[\d+\])*/;

/** Judges a preview run before an update. */
export function judgePreview(outcome: PreviewOutcome): PreviewVerdict {
  if (outcome.ok) {
    return { kind: "pass" };
  }
  if (outcome.locked) {
    return { kind: "locked" };
  }
  const refusals: Refusal[] = outcome.violations.map(policyRefusal);
  const unreachable: string[] = [];
  const bugs: string[] = [];
  for (const event of outcome.events) {
    const d = event.diagnosticEvent;
    if (d === undefined || d.severity !== "error") continue;
    const text = plain(d.message).trim();
    if (text === "" || ENGINE_SUMMARY.test(text)) continue;
    const check = CHECK_FAILURE.exec(text);
    if (UNREACHABLE.test(text)) {
      unreachable.push(oneLine(check?.[4] ?? text));
    } else if (check !== null) {
      const [, type, name, property, reason] = check;
      refusals.push(checkRefusal(shortType(type), name, property, reason));
    } else if (d.urn !== undefined && typeOf(d.urn) !== "pulumi:pulumi:Stack") {
      // Worded otherwise than a check failure, on a resource: its key is unknown, not its place.
      refusals.push({ key: describe(d.urn), by: describe(d.urn), says: oneLine(text) });
    } else if (PROGRAM_BUG.test(text)) {
      bugs.push(firstLine(text));
    } else {
      refusals.push(...programRefusals(text));
    }
  }
  // A service that did not answer hides what else may be wrong: nothing is judged until it does.
  if (unreachable.length > 0) {
    return { kind: "unjudged", unreachable: true, why: unreachable.join(" | ") };
  }
  if (bugs.length > 0) {
    return { kind: "unjudged", unreachable: false, why: bugs.join(" | ") };
  }
  if (refusals.length > 0) {
    return { kind: "refused", refusals: dedupe(refusals) };
  }
  return {
    kind: "unjudged",
    unreachable: false,
    why: outcome.error ?? "the preview failed and said no more",
  };
}

function policyRefusal(v: PolicyViolation): Refusal {
  return {
    key: CONFIG_KEY.exec(v.message)?.[0] ?? v.resource,
    by: `policy ${v.policy} on ${v.resource}`,
    says: v.message,
  };
}

function checkRefusal(
  type: string,
  name: string,
  property: string | undefined,
  reason: string,
): Refusal {
  const key =
    property === undefined
      ? (CONFIG_KEY.exec(reason)?.[0] ?? `${type} ${name}`)
      : (INPUT_KEYS[type]?.[property] ?? `${type} ${name}: ${property}`);
  return { key, by: `${type} ${name}`, says: oneLine(reason) };
}

// A UserError of the program: one refusal per line (a ConfigError has one line per key).
function programRefusals(text: string): Refusal[] {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const keyed = lines.every((l) => STACK_PREFIX.test(l));
  const parts = keyed ? lines : [lines.join(" ")];
  return parts.map((part) => {
    const said = part.replace(STACK_PREFIX, "");
    const key = CONFIG_KEY.exec(said)?.[0] ?? "the stack's config";
    // `rewind:x: why` is printed under the key already.
    const says = said.startsWith(`${key}: `) ? said.slice(key.length + 2) : said;
    return { key, by: "the program", says };
  });
}

function firstLine(text: string): string {
  return text.split("\n")[0].trim();
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

function dedupe(refusals: readonly Refusal[]): Refusal[] {
  const seen = new Map<string, Refusal>();
  for (const r of refusals) seen.set(`${r.key}\n${r.says}`, r);
  return [...seen.values()];
}

/** The refusals grouped under their keys, as the release prints them. */
export function formatRefusals(refusals: readonly Refusal[]): string {
  const byKey = new Map<string, Refusal[]>();
  for (const r of refusals) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
  return [...byKey]
    .map(([key, rs]) => [`  ${key}`, ...rs.map((r) => `    ${r.says} (${r.by})`)].join("\n"))
    .join("\n");
}
