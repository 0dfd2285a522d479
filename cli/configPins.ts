// How Rewind writes pins into a stack's config: the whole `rewind:*` config of an earlier update
// (rollback), or single leaves (`release --set`). Pure: this file decides which `pulumi config`
// commands to run; cli/stackAccess.ts runs them.
//
// Two facts of the Pulumi CLI v3.259.0 shape it (checked on this file backend):
// - `stack history --show-secrets` marks a whole namespace secret when one leaf is, so which
//   leaf was secret is lost. Rewind re-secures the leaves that may hold credentials
//   (domain/config/ masks the same ones: rewind:database.url, rewind:app.env.*,
//   rewind:app.registry.password); a
//   secret namespace without such a leaf is written as one secret, never as plaintext.
// - `config set --path` turns "true"/"false" and integers into booleans and numbers and cannot
//   combine --secret with --type, while `config set-all --json` keeps JSON types exactly but
//   fails on a secret object. So plain namespaces go through --json, secret leaves through
//   --path --secret, and a secret leaf whose text Pulumi would re-type forces the whole
//   namespace to be one secret.
import { UserError } from "../domain/errors";
import { namespaces } from "../domain/config";
import { ConfigEntry, StackConfig, isRecord, namespaceObject } from "../domain/pins";
import { UsageError } from "./options";

/** Leaves that may hold credentials, by namespace: at or under these paths. */
export const SECRET_LEAVES: Readonly<Record<string, readonly (readonly string[])[]>> = {
  "rewind:database": [["url"]],
  "rewind:app": [["env"], ["registry", "password"]],
};

/** What to write so that the stack's `rewind:*` config equals the target's. */
export interface PinWrites {
  /** Keys to remove: in the current config, not in the target. */
  readonly remove: readonly string[];
  /** Plain keys (and the plain part of split secret namespaces), written with set-all --json. */
  readonly plain: Readonly<Record<string, ConfigEntry>>;
  /** Secret top-level values (strings, or whole namespaces as JSON text). */
  readonly secretKeys: Readonly<Record<string, string>>;
  /** Secret leaves by path, e.g. `rewind:database.url`; written after `plain`. */
  readonly secretLeaves: Readonly<Record<string, string>>;
  /** Namespaces that differ, for the plan's "config to pin" line. */
  readonly changed: readonly string[];
  /** Anything the operator should know, e.g. a namespace written as one secret. */
  readonly notes: readonly string[];
}

/**
 * The writes that pin the target's `rewind:*` keys; other keys (another program's) are left
 * alone, and unchanged namespaces are not rewritten (re-encrypting a secret would make the
 * stack file differ for nothing).
 */
export function pinConfig(current: StackConfig, target: StackConfig): PinWrites {
  const ours = (c: StackConfig) =>
    Object.keys(c)
      .filter((k) => k.startsWith("rewind:"))
      .sort();
  const remove = ours(current).filter((k) => !(k in target));
  const plain: Record<string, ConfigEntry> = {};
  const secretKeys: Record<string, string> = {};
  const secretLeaves: Record<string, string> = {};
  const notes: string[] = [];
  const changed: string[] = [...remove];

  for (const key of ours(target)) {
    const entry = target[key];
    if (current[key] !== undefined && sameEntry(current[key], entry)) {
      continue;
    }
    changed.push(key);
    const object = objectOf(entry);
    if (entry.secret !== true) {
      plain[key] =
        object === undefined
          ? { value: entry.value ?? "", secret: false }
          : { value: JSON.stringify(object), objectValue: object, secret: false };
      continue;
    }
    if (object === undefined) {
      secretKeys[key] = entry.value ?? "";
      continue;
    }
    const split = splitSecret(key, object);
    if (split === undefined) {
      secretKeys[key] = JSON.stringify(object);
      notes.push(
        `${key} is written as one secret: its history marks it secret without saying which ` +
          `value is, and none of ${describeLeaves(key)} can carry it alone`,
      );
      continue;
    }
    plain[key] = { value: JSON.stringify(split.plain), objectValue: split.plain, secret: false };
    Object.assign(secretLeaves, split.secrets);
  }
  return { remove, plain, secretKeys, secretLeaves, changed: changed.sort(), notes };
}

/** The secret leaves of a namespace and the object without them, or undefined to keep it whole. */
function splitSecret(
  key: string,
  object: Record<string, unknown>,
): { plain: Record<string, unknown>; secrets: Record<string, string> } | undefined {
  const prefixes = SECRET_LEAVES[key] ?? [];
  const plain = structuredClone(object);
  const secrets: Record<string, string> = {};
  for (const prefix of prefixes) {
    const value = valueAt(object, prefix);
    if (value === undefined) {
      continue;
    }
    for (const [path, leaf] of leaves(value, [...prefix])) {
      const textValue = leafText(leaf);
      if (textValue === undefined) {
        return undefined;
      }
      secrets[formatPath(key, path)] = textValue;
    }
    deleteAt(plain, prefix);
  }
  return Object.keys(secrets).length === 0 ? undefined : { plain, secrets };
}

// The text `config set --path --secret` turns back into the same value, or undefined when it
// cannot: a string Pulumi would read as a boolean or number, a float, an empty object.
function leafText(value: unknown): string | undefined {
  if (typeof value === "string") {
    return /^(true|false|-?[0-9]+)$/.test(value) ? undefined : value;
  }
  if (typeof value === "boolean") {
    return String(value);
  }
  if (typeof value === "number" && Number.isSafeInteger(value)) {
    return String(value);
  }
  return undefined;
}

function leaves(value: unknown, path: (string | number)[]): [(string | number)[], unknown][] {
  if (Array.isArray(value)) {
    return value.length === 0 ? [[path, value]] : value.flatMap((v, i) => leaves(v, [...path, i]));
  }
  if (isRecord(value)) {
    const keys = Object.keys(value);
    return keys.length === 0
      ? [[path, value]]
      : keys.flatMap((k) => leaves(value[k], [...path, k]));
  }
  return [[path, value]];
}

/** `rewind:app.env.API_KEY`, `rewind:gate.smoke[0].path`, `rewind:x["a.b"]`. */
export function formatPath(key: string, path: readonly (string | number)[]): string {
  return (
    key +
    path
      .map((segment) =>
        typeof segment === "number"
          ? `[${segment}]`
          : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)
            ? `.${segment}`
            : `[${JSON.stringify(segment)}]`,
      )
      .join("")
  );
}

function describeLeaves(key: string): string {
  const prefixes = SECRET_LEAVES[key] ?? [];
  return prefixes.length === 0
    ? "its known leaves"
    : prefixes.map((p) => formatPath(key, p)).join(", ");
}

function sameEntry(a: ConfigEntry, b: ConfigEntry): boolean {
  if ((a.secret === true) !== (b.secret === true)) {
    return false;
  }
  const oa = objectOf(a);
  const ob = objectOf(b);
  if (oa !== undefined || ob !== undefined) {
    return oa !== undefined && ob !== undefined && deepEqual(oa, ob);
  }
  return (a.value ?? "") === (b.value ?? "");
}

function objectOf(entry: ConfigEntry): Record<string, unknown> | undefined {
  if (isRecord(entry.objectValue)) {
    return entry.objectValue;
  }
  if (Array.isArray(entry.objectValue)) {
    return undefined;
  }
  return undefined;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) {
    return true;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return deepEqual(ka, kb) && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

function valueAt(object: unknown, path: readonly (string | number)[]): unknown {
  let value = object;
  for (const segment of path) {
    if (Array.isArray(value) && typeof segment === "number") {
      value = value[segment];
    } else if (isRecord(value) && typeof segment === "string") {
      value = value[segment];
    } else {
      return undefined;
    }
  }
  return value;
}

function deleteAt(object: Record<string, unknown>, path: readonly string[]): void {
  const parent = valueAt(object, path.slice(0, -1));
  if (isRecord(parent)) {
    delete parent[path[path.length - 1]];
  }
}

/**
 * One `pulumi` command line; a secret value travels on its stdin, never in its arguments,
 * where any local user could read it in the process list.
 */
export interface ConfigCommand {
  readonly args: readonly string[];
  readonly stdin?: string;
}

/** The commands that perform the writes, in order (removals first, secrets last). */
export function pinCommands(
  writes: PinWrites,
  stack: string,
  configFile?: string,
): ConfigCommand[] {
  const target = [
    "--stack",
    stack,
    ...(configFile === undefined ? [] : ["--config-file", configFile]),
  ];
  const commands: ConfigCommand[] = [];
  if (writes.remove.length > 0) {
    commands.push({ args: ["config", "rm-all", ...target, ...writes.remove] });
  }
  if (Object.keys(writes.plain).length > 0) {
    commands.push({
      args: ["config", "set-all", ...target, "--json", JSON.stringify(writes.plain)],
    });
  }
  // --raw: the value is exactly what was read, trailing newlines included.
  for (const [key, value] of Object.entries(writes.secretKeys)) {
    commands.push({ args: ["config", "set", "--secret", "--raw", key, ...target], stdin: value });
  }
  for (const [key, value] of Object.entries(writes.secretLeaves)) {
    commands.push({
      args: ["config", "set", "--path", "--secret", "--raw", key, ...target],
      stdin: value,
    });
  }
  return commands;
}

// ---------------------------------------------------------------------------------------------
// release --set key=value

/** One `--set` pin: a leaf of a `rewind:` namespace. */
export interface LeafPin {
  /** As given, e.g. `rewind:app.version`. */
  readonly key: string;
  readonly namespace: string;
  readonly path: readonly (string | number)[];
  /** The value with the type it will be stored as. */
  readonly value: string | number | boolean;
  /** `--type` for `pulumi config set`; undefined for a secret (Pulumi refuses both). */
  readonly type: "string" | "int" | "bool" | "float" | undefined;
  readonly secret: boolean;
}

const KEY = /^(rewind:[a-z]+)((?:\.[A-Za-z_][A-Za-z0-9_-]*|\[[0-9]+\])*)$/;

/**
 * Parses `rewind:app.version=1.1.0`. The value keeps the type the current config has at that
 * path (so `rewind:database.revision=0002` stays the string "0002" and `replicas=3` stays a
 * number); a new leaf is typed as Pulumi would type it. `rewind:database.url` is always secret,
 * as the schema requires; `secret` (`--set-secret`) makes any other leaf secret.
 * @throws UsageError for a malformed pair or a key outside the `rewind:` namespaces.
 */
export function parseSet(arg: string, current: StackConfig, secret = false): LeafPin {
  const eq = arg.indexOf("=");
  if (eq <= 0) {
    throw new UsageError(
      `--set ${JSON.stringify(arg)}: expected key=value, e.g. rewind:app.version=1.1.0`,
    );
  }
  const key = arg.slice(0, eq);
  const raw = arg.slice(eq + 1);
  const match = KEY.exec(key);
  const known = Object.keys(namespaces);
  if (match === null || !known.includes(match[1])) {
    throw new UsageError(
      `--set ${key}: not a Rewind config key; keys are <namespace>.<path> with a namespace of ` +
        `${known.join(", ")}, e.g. rewind:app.version`,
    );
  }
  const namespace = match[1];
  const path = [...match[2].matchAll(/\.([^.[]+)|\[([0-9]+)\]/g)].map((m) =>
    m[1] !== undefined ? m[1] : Number(m[2]),
  );
  // Only the URL must be secret (the schema says so); an env value may be a plain LOG_LEVEL, so
  // it is secret only with --set-secret.
  const isSecret = secret || (namespace === "rewind:database" && path[0] === "url");
  const existing =
    path.length === 0
      ? current[namespace]?.value
      : valueAt(namespaceValue(current, namespace), path);
  const { value, type } = typed(key, raw, existing);
  // Pulumi types a secret's text itself (true/false, integers); a string that must stay a
  // string cannot be written that way.
  if (isSecret && typeof value === "string" && leafText(value) === undefined) {
    throw new UsageError(
      `--set ${key}: Pulumi would store the secret text ${JSON.stringify(raw)} as a ` +
        `${/^(true|false)$/.test(raw) ? "boolean" : "number"} (secrets cannot carry a type); ` +
        `set it by hand with pulumi config set --secret`,
    );
  }
  return { key, namespace, path, value, type: isSecret ? undefined : type, secret: isSecret };
}

function namespaceValue(config: StackConfig, namespace: string): unknown {
  const entry = config[namespace];
  if (entry === undefined) {
    return undefined;
  }
  return objectOf(entry) ?? entry.value;
}

function typed(
  key: string,
  raw: string,
  existing: unknown,
): { value: string | number | boolean; type: LeafPin["type"] } {
  const fail = (what: string): never => {
    throw new UsageError(`--set ${key}=${raw}: the current value is ${what}, so this must be too`);
  };
  switch (typeof existing) {
    case "number": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) fail("a number");
      return { value: n, type: Number.isInteger(n) ? "int" : "float" };
    }
    case "boolean":
      if (raw !== "true" && raw !== "false") fail("true or false");
      return { value: raw === "true", type: "bool" };
    case "string":
      return { value: raw, type: "string" };
    default:
      // A new leaf: as `pulumi config set --path` would type it.
      if (raw === "true" || raw === "false") return { value: raw === "true", type: "bool" };
      if (/^-?(0|[1-9][0-9]*)$/.test(raw)) return { value: Number(raw), type: "int" };
      return { value: raw, type: "string" };
  }
}

/**
 * The config after the pins, in memory, to validate with parseConfig before anything is
 * written: a bad `--set` must leave the stack untouched.
 */
export function applyLeafPins(current: StackConfig, pins: readonly LeafPin[]): StackConfig {
  const next: Record<string, ConfigEntry> = { ...current };
  for (const pin of pins) {
    const entry = next[pin.namespace];
    if (pin.path.length === 0) {
      next[pin.namespace] = { value: String(pin.value), secret: pin.secret || entry?.secret };
      continue;
    }
    const root: Record<string, unknown> = structuredClone((entry && objectOf(entry)) ?? {});
    setAt(root, pin.path, pin.value);
    next[pin.namespace] = {
      value: JSON.stringify(root),
      objectValue: root,
      secret: pin.secret || entry?.secret === true,
    };
  }
  return next;
}

function setAt(
  root: Record<string, unknown>,
  path: readonly (string | number)[],
  value: unknown,
): void {
  let node: unknown = root;
  path.forEach((segment, i) => {
    const last = i === path.length - 1;
    const container = node as Record<string | number, unknown>;
    if (last) {
      container[segment] = value;
      return;
    }
    if (typeof container[segment] !== "object" || container[segment] === null) {
      container[segment] = typeof path[i + 1] === "number" ? [] : {};
    }
    node = container[segment];
  });
}

/** The commands that write the pins (one each: --type is per key); secrets go on stdin. */
export function leafCommands(
  pins: readonly LeafPin[],
  stack: string,
  configFile?: string,
): ConfigCommand[] {
  const target = [
    "--stack",
    stack,
    ...(configFile === undefined ? [] : ["--config-file", configFile]),
  ];
  return pins.map((pin) =>
    pin.secret
      ? {
          args: ["config", "set", "--path", "--secret", "--raw", pin.key, ...target],
          stdin: String(pin.value),
        }
      : {
          args: [
            "config",
            "set",
            "--path",
            ...(pin.type === undefined ? [] : ["--type", pin.type]),
            pin.key,
            ...target,
            "--",
            String(pin.value),
          ],
        },
  );
}

/** The `--set` pins as the update message shows them; secret values are never written there. */
export function describePins(pins: readonly LeafPin[]): string {
  return pins.map((p) => `--set ${p.key}=${p.secret ? "[secret]" : String(p.value)}`).join(" ");
}

/** Guards against two pins of the same key (the second would silently win). */
export function checkDistinct(pins: readonly LeafPin[]): void {
  const seen = new Set<string>();
  for (const pin of pins) {
    if (seen.has(pin.key)) {
      throw new UserError(`--set ${pin.key} is given twice; give each key once`);
    }
    seen.add(pin.key);
  }
}

/**
 * The config with `rewind:database.migrations.revisions` replaced: a rollback to a config whose
 * Alembic list lacks the revision now pins the newer list with it, since the program orders
 * revisions by the pinned list only. A config without migrations is returned as it is.
 */
export function withRevisionList(config: StackConfig, revisions: readonly string[]): StackConfig {
  const database = namespaceObject(config, "rewind:database");
  if (database === undefined || !isRecord(database.migrations)) {
    return config;
  }
  const next = { ...database, migrations: { ...database.migrations, revisions: [...revisions] } };
  return withDatabaseObject(config, next);
}

/**
 * The config with `revisions` added to its `rewind:database.migrations.maintenance` (kept
 * as is when it already lists them all, or has no migrations).
 */
export function withMaintenanceList(
  config: StackConfig,
  revisions: readonly string[],
): StackConfig {
  const database = namespaceObject(config, "rewind:database");
  if (database === undefined || !isRecord(database.migrations) || revisions.length === 0) {
    return config;
  }
  const have = Array.isArray(database.migrations.maintenance)
    ? (database.migrations.maintenance as unknown[]).filter(
        (r): r is string => typeof r === "string",
      )
    : [];
  const missing = revisions.filter((r) => !have.includes(r));
  if (missing.length === 0) {
    return config;
  }
  const next = {
    ...database,
    migrations: { ...database.migrations, maintenance: [...have, ...missing] },
  };
  return withDatabaseObject(config, next);
}

/** The config with `rewind:database` replaced by `next`, keeping whether it is a secret. */
function withDatabaseObject(config: StackConfig, next: Record<string, unknown>): StackConfig {
  return {
    ...config,
    "rewind:database": {
      value: JSON.stringify(next),
      objectValue: next,
      secret: config["rewind:database"]?.secret,
    },
  };
}

/** pulumi.runtime.allConfig()'s shape, which parseConfig reads, from the CLI's JSON config. */
export function rawConfig(config: StackConfig): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => [
      k,
      v.objectValue !== undefined ? v.objectValue : v.value,
    ]),
  );
}
