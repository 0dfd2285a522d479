// `rewind:database`: one PostgreSQL database, how it migrates, and the pinned revision.
import { z } from "zod";
import { InternalError } from "../errors";
import { BASE, REVISION_FORMAT, isRevision } from "../revision";
import { afterFields, argv, integer, matching, nonEmpty, strictObject } from "./fields";

const TOOL_ALLOWED = `"sql", "alembic" or "command"`;

// Alembic ids are hex by default and custom with --rev-id; "head" and relative steps ("-1",
// "ae10+2") are refused because a pin must name one revision, as "latest" is refused for images.
const TOOL_REVISION = /^[A-Za-z0-9_]+$/;
const TOOL_REVISION_ALLOWED =
  `a revision id of letters, digits and _, or "base" ` +
  `(not "head", "heads" or a relative step such as "-1": the pin must name one revision)`;
const REVISIONS_ALLOWED = `a list of every revision id, oldest first, each once, without "base", e.g. ["ae1027a6acf", "27c6a30d7c24"]`;

const MAINTENANCE_ALLOWED = `a list of revision ids whose migration the app cannot run through (a rename, a split), e.g. ["0003"]`;

/**
 * Revisions that need the maintenance order: stop the app, migrate, start the other version.
 * For a rename or a split, where neither app version runs on the other's schema.
 * @default [] (expand/contract: the app switches while the other schema is in place)
 */
const maintenance = () =>
  z.array(matching(TOOL_REVISION, MAINTENANCE_ALLOWED), { error: MAINTENANCE_ALLOWED }).optional();

/** How the project migrates its schema; argument arrays only, never shell strings. */
export const migrationsSchema = z.discriminatedUnion(
  "tool",
  [
    strictObject({
      tool: z.literal("sql"),
      /** Directory of `NNNN_name.up.sql` / `NNNN_name.down.sql` files. */
      dir: nonEmpty("a directory"),
      maintenance: maintenance(),
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
      maintenance: maintenance(),
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

export type MigrationsConfig = z.infer<typeof migrationsSchema>;
export type DatabaseConfig = z.infer<typeof databaseSchema>;
