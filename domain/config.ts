import { BACKUP_ITEM_ALLOWED, BackupItem, isBackupItem } from "./backupItem";
import { z } from "zod";
import { ConfigError, ConfigIssue, InternalError } from "./errors";
import { BASE, REVISION_FORMAT, isRevision } from "./revision";

// Every schema below carries, as its error, the sentence saying what is allowed: a failed parse
// is turned into "<key> is <value>; allowed: <that sentence>", never into zod's own wording.

type Shape = Record<string, z.ZodType>;

/** A `.strict()` object whose unknown-key error lists the keys it knows. */
function strictObject<S extends Shape>(shape: S, allowed?: string) {
  const keys = Object.keys(shape).join(", ");
  return z
    .object(shape, {
      error: (issue) =>
        issue.code === "unrecognized_keys" ? keys : (allowed ?? `an object with keys ${keys}`),
    })
    .strict();
}

// Pulumi hands `config set --path` values over as strings, so "2" must count as 2; the error
// still shows the value as written.
function integer(allowed: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  const error = { error: allowed };
  return z.preprocess(
    (v) => (typeof v === "string" && /^-?[0-9]+$/.test(v) ? Number(v) : v),
    z.int(error).min(min, error).max(max, error),
  );
}

function boolean() {
  const error = { error: "true or false" };
  return z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean(error));
}

function matching(pattern: RegExp, allowed: string) {
  const error = { error: allowed };
  return z.string(error).regex(pattern, error);
}

const PATH_ALLOWED = `a URL path starting with "/"`;
const urlPath = () => matching(/^\/\S*$/, PATH_ALLOWED);
const nonEmpty = (what: string) => matching(/\S/, `a non-empty string (${what})`);

const ARGV_ALLOWED = `an argument array of non-empty strings, e.g. ["./migrate", "up"] (not a shell string)`;
const argv = () =>
  z.array(matching(/\S/, ARGV_ALLOWED), { error: ARGV_ALLOWED }).min(1, { error: ARGV_ALLOWED });

const PORT_ALLOWED = "an integer from 1024 to 65535";
const REPLICAS_ALLOWED = "an integer of at least 1";
const NAME_ALLOWED =
  "a DNS label: lowercase letters, digits and -, starting with a letter, not ending with -, " +
  "at most 63 characters";
const NAME = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_PORT = 65535;

/** A service's name (`rewind:app.name`, a service's `name`): a DNS label. */
export const serviceNameSchema = matching(NAME, NAME_ALLOWED);
/** A public port (`rewind:app.port`, a service's `port`). */
export const portSchema = integer(PORT_ALLOWED, 1024, MAX_PORT);
/** How many replicas of a service run. */
export const replicasSchema = integer(REPLICAS_ALLOWED, 1);

// Cross-field checks run only once every field is valid on its own: one mistake, one message
// (zod would otherwise run them on a half-parsed value, e.g. check the port range of port 70000).
const afterFields: z.core.$ZodSuperRefineParams = {
  when: (payload) => payload.issues.length === 0,
};

// ---------------------------------------------------------------------------------------------
// rewind:app

/** Health endpoints of the app, probed by the HealthGate and by the Kubernetes probes. */
export const healthSchema = strictObject({
  /**
   * Liveness path.
   * @default "/healthz/live"
   */
  live: urlPath().default("/healthz/live"),
  /**
   * Readiness path; traffic switches to a new version only once it answers 2xx.
   * @default "/healthz/ready"
   */
  ready: urlPath().default("/healthz/ready"),
  /** Startup path, probed once before the others when set. */
  startup: urlPath().optional(),
  /**
   * How long a new version may take to become ready before the release fails.
   * @default 60
   */
  timeoutSeconds: integer("an integer number of seconds, at least 1", 1).default(60),
});

/** A further process run from the app's image, e.g. a worker beside the API. */
export const serviceSchema = strictObject({
  name: serviceNameSchema,
  /** The container command; the image's own when absent. */
  command: argv().optional(),
  /**
   * Number of containers; each listens on its own free loopback port (host network), chosen
   * by Rewind and passed as `PORT`.
   * @default 1
   */
  replicas: replicasSchema.default(1),
  /** The service's public port, owned by its Rewind router, which forwards to ready replicas. */
  port: portSchema,
});

/** `rewind:app`: the versioned app. */
export const appSchema = strictObject({
  /** Names the containers / Deployment; a DNS label. */
  name: serviceNameSchema,
  /** The image repository without tag or digest, e.g. `127.0.0.1:5000/hunter`. */
  image: matching(
    // Docker's reference grammar, minus the tag and digest: the version is pinned separately.
    /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/,
    `an image repository without tag or digest, e.g. "127.0.0.1:5000/hunter"`,
  ),
  /** The pinned version: an immutable tag or a `sha256:` digest. Rollback = set it back. */
  version: matching(
    /^(sha256:[a-f0-9]{64}|[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/,
    `an immutable image tag (not "latest") or a sha256 digest`,
  ).refine((v) => v.toLowerCase() !== "latest", {
    // "latest" moves under a pin, so pinning it would make rollback meaningless.
    error: `an immutable image tag (not "latest") or a sha256 digest`,
  }),
  /**
   * Number of app containers; each listens on its own free loopback port (host network),
   * chosen by Rewind and passed as `PORT`. A release starts the new replicas beside the old.
   * @default 1
   */
  replicas: replicasSchema.default(1),
  /**
   * The public port. On the Docker target Rewind's router owns it and forwards to the ready
   * replicas, so it never changes hands during a release.
   */
  port: portSchema,
  /**
   * Pulumi's `protect` on the app's deployment: a `pulumi destroy` (or a program change that
   * would delete it) fails instead of stopping production. Releases and rollbacks still update it.
   * @default false
   */
  protect: z.boolean({ error: "true or false" }).default(false),
  /**
   * Health endpoints.
   * @default { live: "/healthz/live", ready: "/healthz/ready", timeoutSeconds: 60 }
   */
  health: healthSchema.prefault({}),
  /**
   * Environment of every container. Values are masked in config errors: they may be secrets.
   * @default {}
   */
  env: z
    .record(
      matching(
        /^[A-Za-z_][A-Za-z0-9_]*$/,
        "an environment variable name: letters, digits and _, not starting with a digit",
      ),
      z.string({ error: "a string (quote numbers and booleans)" }),
      { error: "a map of environment variable names to strings" },
    )
    .default({}),
  /** Further processes from the same image (a worker beside the API), each with its own ports. */
  services: z.array(serviceSchema, { error: "a list of services" }).optional(),
}).superRefine((app, ctx) => {
  // Each process's router owns its public port on the host network; replicas take free ports
  // chosen at deploy time. Two processes on one public port would fail to bind at deploy time.
  const owners = new Map<number, string>();
  const names = new Map<string, string>([[app.name, "rewind:app"]]);
  const place = (label: string, path: (string | number)[], port: number): void => {
    const owner = owners.get(port);
    if (owner !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: [...path, "port"],
        message: `a port not already the public port of ${owner}`,
      });
    }
    owners.set(port, label);
  };
  place("rewind:app", [], app.port);
  (app.services ?? []).forEach((service, i) => {
    const label = `rewind:app.services[${i}]`;
    const taken = names.get(service.name);
    if (taken !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["services", i, "name"],
        message: `a name not already used by ${taken}`,
      });
    }
    names.set(service.name, label);
    place(label, ["services", i], service.port);
  });
}, afterFields);

// ---------------------------------------------------------------------------------------------
// rewind:database

const TOOL_ALLOWED = `"sql", "alembic" or "command"`;

// Alembic ids are hex by default and custom with --rev-id; "head" and relative steps ("-1",
// "ae10+2") are refused because a pin must name one revision, as "latest" is refused for images.
const TOOL_REVISION = /^[A-Za-z0-9_]+$/;
const TOOL_REVISION_ALLOWED =
  `a revision id of letters, digits and _, or "base" ` +
  `(not "head", "heads" or a relative step such as "-1": the pin must name one revision)`;
const REVISIONS_ALLOWED = `a list of every revision id, oldest first, each once, without "base", e.g. ["ae1027a6acf", "27c6a30d7c24"]`;

/** How the project migrates its schema; argument arrays only, never shell strings. */
export const migrationsSchema = z.discriminatedUnion(
  "tool",
  [
    strictObject({
      tool: z.literal("sql"),
      /** Directory of `NNNN_name.up.sql` / `NNNN_name.down.sql` files. */
      dir: nonEmpty("a directory"),
    }),
    strictObject({
      tool: z.literal("alembic"),
      /** Absolute directory inside the app image to run Alembic in; its working dir when absent. */
      dir: matching(/^\/\S*$/, "an absolute directory inside the app image").optional(),
      /** Path of `alembic.ini` inside the image (`alembic -c`); `alembic.ini` in `dir` when absent. */
      config: nonEmpty("a path to alembic.ini inside the app image").optional(),
      /**
       * Every revision id, oldest first (`alembic history` lists them newest first). Alembic's
       * ids carry no order, and the plan must tell an upgrade from a downgrade before anything
       * runs, at preview, without running the image.
       */
      revisions: z
        .array(matching(TOOL_REVISION, REVISIONS_ALLOWED), { error: REVISIONS_ALLOWED })
        .min(1, { error: REVISIONS_ALLOWED })
        .refine((ids) => new Set(ids).size === ids.length && !ids.includes(BASE), {
          error: REVISIONS_ALLOWED,
        }),
    }),
    strictObject({
      tool: z.literal("command"),
      /** Brings the schema up to the pinned revision. */
      up: argv(),
      /** Brings the schema down to the pinned revision. */
      down: argv(),
    }),
  ],
  {
    error: (issue) =>
      issue.code === "invalid_union" ? TOOL_ALLOWED : `an object with tool ${TOOL_ALLOWED}`,
  },
);

const DATABASE_URL_ALLOWED =
  "a PostgreSQL connection URL with its password, postgres://user:password@host:port/database " +
  "(or ?password=...), set as a secret: pulumi config set --secret rewind:database.url <url>";

// Only the parts a password can be in; the URL itself is never echoed (it is a secret).
function hasPassword(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.password !== "" || (parsed.searchParams.get("password") ?? "") !== "";
  } catch {
    return false;
  }
}

/** `rewind:database`: one PostgreSQL database, its migrations and the pinned revision. */
export const databaseSchema = strictObject({
  /**
   * Connection URL with its password (in the authority or as `?password=`): the pg tools and the
   * app get it from here, never from a `.pgpass` of the machine that runs `pulumi up`. A Pulumi
   * secret, masked in every config error.
   */
  url: matching(/^postgres(ql)?:\/\/\S+$/, DATABASE_URL_ALLOWED).refine(hasPassword, {
    error: DATABASE_URL_ALLOWED,
  }),
  migrations: migrationsSchema,
  /** The pinned schema revision: `"base"` or `"0007"` for the sql tool, any id for the others. */
  revision: nonEmpty("a revision id"),
  /**
   * How long a migration, backup or restore waits for Rewind's migration lock on this database
   * (held by another stack's release) before it fails, naming the holder.
   * @default 60
   */
  lockTimeoutSeconds: integer("an integer number of seconds, at least 1", 1).optional(),
}).superRefine((db, ctx) => {
  const tool = db.migrations.tool;
  switch (tool) {
    case "sql":
      if (!isRevision(db.revision)) {
        ctx.addIssue({
          code: "custom",
          path: ["revision"],
          message: `${REVISION_FORMAT} (the sql tool's numbering)`,
        });
      }
      return;
    case "alembic":
    case "command":
      if (!TOOL_REVISION.test(db.revision) || db.revision === "head" || db.revision === "heads") {
        ctx.addIssue({ code: "custom", path: ["revision"], message: TOOL_REVISION_ALLOWED });
      } else if (
        tool === "alembic" &&
        db.revision !== BASE &&
        !db.migrations.revisions.includes(db.revision)
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["revision"],
          message:
            `"base" or one of rewind:database.migrations.revisions ` +
            `(${db.migrations.revisions.join(", ")})`,
        });
      }
      return;
    default: {
      const unexpected: never = tool;
      throw new InternalError(`unknown migration tool ${String(unexpected)}`);
    }
  }
}, afterFields);

// ---------------------------------------------------------------------------------------------
// rewind:backup

/** Where snapshots are written. Only a filesystem store for now; `kind` leaves room for more. */
export const backupStoreSchema = z.discriminatedUnion(
  "kind",
  [
    strictObject({
      kind: z.literal("fs"),
      /** Directory holding the snapshots and their manifests. */
      path: nonEmpty("a directory"),
    }),
  ],
  {
    error: (issue) => (issue.code === "invalid_union" ? `"fs"` : `an object with kind "fs"`),
  },
);

/** `rewind:backup`: snapshots taken before migrations, and their retention. */
export const backupSchema = strictObject({
  store: backupStoreSchema,
  /**
   * Take a snapshot before any migration that changes the revision (policy requires it in
   * production).
   * @default true
   */
  beforeMigration: boolean().default(true),
  /**
   * What a snapshot holds.
   * @default ["database"]
   */
  include: z
    .array(z.custom<BackupItem>(isBackupItem, { error: BACKUP_ITEM_ALLOWED }), {
      error: `a list of ${BACKUP_ITEM_ALLOWED}`,
    })
    .default(["database"]),
  /**
   * Retention: a snapshot is pruned once older than `days`, but the newest `keepAtLeast` are
   * always kept, so a quiet month never leaves a stack with nothing to restore.
   * @default { days: 30, keepAtLeast: 5 }
   */
  retain: strictObject({
    /** @default 30 */
    days: integer("an integer number of days, at least 0", 0).default(30),
    /** @default 5 */
    keepAtLeast: integer("an integer of at least 1", 1).default(5),
  }).prefault({}),
}).superRefine((backup, ctx) => {
  const seen = new Set<string>();
  backup.include.forEach((item, i) => {
    if (seen.has(item)) {
      ctx.addIssue({
        code: "custom",
        path: ["include", i],
        message: `an item not already listed (${JSON.stringify(item)} is)`,
      });
    }
    seen.add(item);
  });
  // A pre-migration snapshot without the database cannot undo the migration it guards.
  if (backup.beforeMigration && !seen.has("database")) {
    ctx.addIssue({
      code: "custom",
      path: ["include"],
      message: `a list containing "database" while beforeMigration is true`,
    });
  }
}, afterFields);

// ---------------------------------------------------------------------------------------------
// rewind:restore, rewind:gate, rewind:target

/** `rewind:restore`: pin a snapshot id to restore it. */
export const restoreSchema = strictObject({
  /**
   * The snapshot to restore, or null for none.
   * @default null
   */
  snapshot: matching(
    // Snapshot ids name directories of the store (backupStore.ts), so the same shape; the word
    // "null" is what `pulumi config set` stores when someone means "none".
    /^(?!null$)[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/,
    "a snapshot id from the backup store (see rewind history), e.g. " +
      "20261126T005230Z-hunter-0001-b09dc0; to pin none, remove the key " +
      "(pulumi config rm rewind:restore.snapshot)",
  )
    .nullable()
    .default(null),
});

/** `rewind:gate`: what must pass after the app changes. */
export const gateSchema = strictObject({
  /**
   * Whether the gate runs; required on in production by policy.
   * @default true
   */
  enabled: boolean().default(true),
  /**
   * HTTP requests that must answer with the expected status.
   * @default []
   */
  smoke: z
    .array(
      strictObject({
        path: urlPath(),
        /** @default 200 */
        expectStatus: integer("an HTTP status from 100 to 599", 100, 599).default(200),
      }),
      { error: "a list of { path, expectStatus }" },
    )
    .default([]),
  /**
   * SQL queries that must return at least `minRows` rows (the runbooks' row counts).
   * @default []
   */
  sql: z
    .array(
      strictObject({
        query: nonEmpty("an SQL query"),
        /** @default 1 */
        minRows: integer("an integer of at least 0", 0).default(1),
      }),
      { error: "a list of { query, minRows }" },
    )
    .default([]),
});

/**
 * `rewind:target`: where the app runs.
 * @default "docker"
 */
export const targetSchema = z
  .enum(["docker", "kubernetes"], { error: `"docker" or "kubernetes"` })
  .default("docker");

export type HealthConfig = z.infer<typeof healthSchema>;
export type ServiceConfig = z.infer<typeof serviceSchema>;
export type AppConfig = z.infer<typeof appSchema>;
export type MigrationsConfig = z.infer<typeof migrationsSchema>;
export type DatabaseConfig = z.infer<typeof databaseSchema>;
export type BackupStoreConfig = z.infer<typeof backupStoreSchema>;
export type BackupConfig = z.infer<typeof backupSchema>;
export type RestoreConfig = z.infer<typeof restoreSchema>;
export type GateConfig = z.infer<typeof gateSchema>;
export type Target = z.infer<typeof targetSchema>;

/** The whole validated config of a stack. */
export interface RewindConfig {
  readonly app: AppConfig;
  readonly database: DatabaseConfig;
  readonly backup: BackupConfig;
  readonly restore: RestoreConfig;
  readonly gate: GateConfig;
  readonly target: Target;
}

/** The config namespaces and their schemas; `app`, `database` and `backup` are required. */
export const namespaces = {
  "rewind:app": appSchema,
  "rewind:database": databaseSchema,
  "rewind:backup": backupSchema,
  "rewind:restore": restoreSchema.prefault({}),
  "rewind:gate": gateSchema.prefault({}),
  "rewind:target": targetSchema,
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
 * @throws ConfigError listing every problem: stack, full key, value (secrets masked), allowed.
 */
export function parseConfig(stack: string, raw: Record<string, unknown>): RewindConfig {
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
  return { app, database, backup, restore, gate, target };
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
