// The parse of a stack's whole config: every namespace's schema, every problem reported at once
// in the user's words (stack, key, value with secrets masked, what is allowed).
import { z } from "zod";
import { ConfigError, ConfigIssue, InternalError } from "../errors";
import { AppConfig, REGISTRY_PASSWORD_KEY, SET_REGISTRY_PASSWORD, appSchema } from "./app";
import { BackupConfig, backupSchema } from "./backup";
import { DatabaseConfig, databaseSchema } from "./database";
import { GateConfig, gateSchema } from "./gate";
import { RestoreConfig, restoreSchema } from "./restore";
import { KubernetesConfig, kubernetesSchema, targetIssues } from "./kubernetes";
import { Target, targetSchema } from "./target";

/** The whole validated config of a stack. */
export interface RewindConfig {
  readonly app: AppConfig;
  readonly database: DatabaseConfig;
  readonly backup: BackupConfig;
  readonly restore: RestoreConfig;
  readonly gate: GateConfig;
  readonly target: Target;
  /** Present exactly when `target` is "kubernetes". */
  readonly kubernetes?: KubernetesConfig;
}

/** The config namespaces and their schemas; `app` and `database` are required. */
export const namespaces = {
  "rewind:app": appSchema,
  "rewind:database": databaseSchema,
  "rewind:backup": backupSchema.prefault({}),
  "rewind:restore": restoreSchema.prefault({}),
  "rewind:gate": gateSchema.prefault({}),
  "rewind:target": targetSchema,
  "rewind:kubernetes": kubernetesSchema.optional(),
} as const;

/** A config namespace, e.g. `"rewind:app"`. */
export type Namespace = keyof typeof namespaces;

/**
 * Validates a stack's config before any resource is registered.
 * @param stack The stack name, for error messages.
 * @param raw The stack's config by full key (`rewind:app`, ...): parsed objects, or strings as
 * Pulumi hands them over (JSON strings are parsed). Keys outside `rewind:` are ignored; an
 * unknown `rewind:` key is an error, since a misspelt namespace would otherwise be silently
 * ignored (a restore pin under `rewind:restor` would never restore).
 * @param secretKeys The full keys Pulumi holds as secrets (a namespace holding one secret leaf
 * is a secret as a whole); when given, a registry password outside them is refused.
 * @throws ConfigError listing every problem: stack, full key, value (secrets masked), allowed.
 */
export function parseConfig(
  stack: string,
  raw: Record<string, unknown>,
  secretKeys?: ReadonlySet<string>,
): RewindConfig {
  const issues: ConfigIssue[] = [];
  const known = Object.keys(namespaces);
  for (const key of Object.keys(raw)) {
    if (key.startsWith("rewind:") && !known.includes(key)) {
      issues.push({ key, kind: "unknown-key", allowed: known.join(", ") });
    }
  }

  function parse<S extends z.ZodType>(namespace: Namespace, schema: S): z.output<S> | undefined {
    const value = fromConfig(raw[namespace]);
    const result = schema.safeParse(value);
    if (result.success) {
      return result.data;
    }
    issues.push(...result.error.issues.flatMap((issue) => toConfigIssues(namespace, value, issue)));
    return undefined;
  }

  const app = parse("rewind:app", namespaces["rewind:app"]);
  const database = parse("rewind:database", namespaces["rewind:database"]);
  const backup = parse("rewind:backup", namespaces["rewind:backup"]);
  const restore = parse("rewind:restore", namespaces["rewind:restore"]);
  const gate = parse("rewind:gate", namespaces["rewind:gate"]);
  const target = parse("rewind:target", namespaces["rewind:target"]);
  if (app?.registry !== undefined && secretKeys !== undefined && !secretKeys.has("rewind:app")) {
    // In plain text it would sit in the stack's config file, in every history entry and in
    // the state of each resource that uses it.
    issues.push({
      key: REGISTRY_PASSWORD_KEY,
      kind: "invalid",
      value: "[secret] in plain text",
      allowed: `a Pulumi secret: ${SET_REGISTRY_PASSWORD}`,
    });
  }
  const kubernetes = parse("rewind:kubernetes", namespaces["rewind:kubernetes"]);
  if (target !== undefined) {
    issues.push(...targetIssues(target, fromConfig(raw["rewind:kubernetes"]), backup, app));
  }

  if (issues.length > 0) {
    throw new ConfigError(stack, issues);
  }
  if (
    app === undefined ||
    database === undefined ||
    backup === undefined ||
    restore === undefined ||
    gate === undefined ||
    target === undefined
  ) {
    throw new InternalError("a config namespace failed to parse without reporting an issue");
  }
  return { app, database, backup, restore, gate, target, ...(kubernetes ? { kubernetes } : {}) };
}

// Structured config may arrive as a JSON string (the Automation API's getAllConfig); plain
// strings such as `docker` stay strings.
function fromConfig(value: unknown): unknown {
  if (typeof value !== "string") {
    return value;
  }
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === "object" && parsed !== null ? parsed : value;
  } catch {
    return value;
  }
}

// Paths whose values may hold credentials. A value is masked when its path is one of these, is
// inside one (a single env entry) or contains one (a whole namespace printed back).
const SECRET_PATHS: readonly (readonly PropertyKey[])[] = [
  ["rewind:database", "url"],
  ["rewind:app", "env"],
  ["rewind:app", "registry", "password"],
  ["rewind:kubernetes", "kubeconfig"],
];

function isSecret(path: readonly PropertyKey[]): boolean {
  const startsWith = (a: readonly PropertyKey[], b: readonly PropertyKey[]): boolean =>
    b.every((segment, i) => a[i] === segment);
  return SECRET_PATHS.some((secret) => startsWith(path, secret) || startsWith(secret, path));
}

function toConfigIssues(
  namespace: Namespace,
  input: unknown,
  issue: z.core.$ZodIssue,
): ConfigIssue[] {
  const path = [namespace, ...issue.path];
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((k) => ({
        key: formatKey([...path, k]),
        kind: "unknown-key",
        allowed: issue.message,
      }));
    case "invalid_key":
      return [
        {
          key: formatKey(path),
          kind: "invalid-key",
          allowed: issue.issues[0]?.message ?? issue.message,
        },
      ];
    default: {
      const value = valueAt(input, issue.path);
      if (value === undefined) {
        return [{ key: formatKey(path), kind: "missing", allowed: issue.message }];
      }
      return [
        {
          key: formatKey(path),
          kind: "invalid",
          value: isSecret(path) ? "[secret]" : render(value),
          allowed: issue.message,
        },
      ];
    }
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const segment of path) {
    if (typeof value !== "object" || value === null) {
      return undefined;
    }
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

// rewind:app.services[1].port
function formatKey(path: readonly PropertyKey[]): string {
  return path
    .map((segment, i) =>
      typeof segment === "number"
        ? `[${segment}]`
        : i === 0
          ? String(segment)
          : `.${String(segment)}`,
    )
    .join("");
}

// Long objects are cut: the key already says where to look.
function render(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 79)}…` : json;
}
