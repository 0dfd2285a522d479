// A downgrade rehearsed on a throwaway copy of the database: the schema (and, when asked, its
// rows) is copied into a scratch database on the same server, the team's own
// `alembic downgrade <rev>` runs against it in the image that runs now, and the scratch database
// is dropped. Nothing of the real database is changed; what the copy was left at says which
// step cannot be undone (domain/rehearsal.ts reads it). The same scratch copy serves the trial
// start of an older app version on the schema now (adapters/appStart.ts).
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ALEMBIC_VERSION_TABLE, alembicArgv, readAlembicRevision } from "./alembic";
import { CommandFailed, runCommandStep } from "./commandContainer";
import { libpqTarget } from "./pgTools";
import { describeDatabase, locateDatabase, withClient } from "./postgres";
import { runProcess } from "./process";
import { Rehearsal, tailLines } from "../domain/rehearsal";
import { UserError } from "../domain/errors";

/** What to copy into a scratch database. */
export interface ScratchCopySpec {
  /** The real database; read only (pg_dump), never written. */
  readonly databaseUrl: string;
  /**
   * Copy the rows too.
   * @default false (the schema only)
   */
  readonly withData?: boolean;
  /**
   * The Alembic revision to record in a schema-only copy: pg_dump --schema-only keeps Alembic's
   * table but not its row, and without it Alembic would think the copy is at base.
   * @default none recorded
   */
  readonly alembicRevision?: string;
  /** For messages: `the rehearsal's copy`, `the app trial's copy`. */
  readonly purpose: string;
}

/** The prefix every scratch copy's name starts with; `rewind_rehearsal_<hex>_<database>`. */
export const SCRATCH_PREFIX = "rewind_rehearsal_";

/**
 * Copies the database into a new scratch database on the same server, runs `use` with its
 * URL, and drops it whatever happened. The URL's user needs CREATEDB.
 * @throws UserError when the copy cannot be made (no CREATEDB, pg_dump missing, ...).
 */
export async function withScratchCopy<T>(
  spec: ScratchCopySpec,
  use: (scratchUrl: string) => Promise<T>,
): Promise<T> {
  const scratch = scratchName(locateDatabase(spec.databaseUrl).database);
  const scratchUrl = withDatabase(spec.databaseUrl, scratch);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-rehearsal-"));
  const dump = path.join(dir, "copy.dump");
  const what = `${spec.purpose} of ${describeDatabase(spec.databaseUrl)}`;
  try {
    await withClient(spec.databaseUrl, (c) => c.query(`CREATE DATABASE "${scratch}"`)).catch(
      (error: Error) => {
        throw new UserError(
          `cannot create ${what} (CREATE DATABASE ${scratch}): ${error.message}. The database ` +
            `URL's user needs CREATEDB for a copy; nothing was tried on one or changed.`,
          { cause: error },
        );
      },
    );
    const source = libpqTarget(spec.databaseUrl);
    await runProcess(
      "pg_dump",
      [
        "--format=custom",
        "--no-password",
        ...(spec.withData === true ? [] : ["--schema-only"]),
        `--file=${dump}`,
        `--dbname=${source.dbname}`,
      ],
      { env: { ...source.env, PGAPPNAME: "rewind-rehearsal" }, what: `pg_dump for ${what}` },
    );
    const target = libpqTarget(scratchUrl);
    await runProcess(
      "pg_restore",
      [
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--no-password",
        `--dbname=${target.dbname}`,
        dump,
      ],
      { env: { ...target.env, PGAPPNAME: "rewind-rehearsal" }, what: `pg_restore into ${what}` },
    );
    const revision = spec.alembicRevision;
    if (spec.withData !== true && revision !== undefined) {
      await withClient(scratchUrl, (c) =>
        c.query(`INSERT INTO ${ALEMBIC_VERSION_TABLE} (version_num) VALUES ($1)`, [revision]),
      );
    }
    return await use(scratchUrl);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await withClient(spec.databaseUrl, (c) =>
      c.query(`DROP DATABASE IF EXISTS "${scratch}" WITH (FORCE)`),
    ).catch(() => undefined);
  }
}

/**
 * `rewind_rehearsal_<hex>_<database>`: the database it copies, readable in `\l`, kept to
 * PostgreSQL's 63-byte names and to characters that need no quoting.
 */
export function scratchName(database: string): string {
  const prefix = `${SCRATCH_PREFIX}${randomBytes(4).toString("hex")}_`;
  const clean = database.toLowerCase().replace(/[^a-z0-9_]+/g, "_");
  return `${prefix}${clean}`.slice(0, 63);
}

/** What to rehearse, and where the tool runs. */
export interface RehearsalSpec {
  /** The real database; read only (pg_dump), never written. */
  readonly databaseUrl: string;
  /** The digest-pinned image of the version that runs now: only its migrations know the steps. */
  readonly image: string;
  readonly from: string;
  readonly to: string;
  /** Absolute directory in the image to run Alembic in. @default the image's working dir */
  readonly alembicDir?: string;
  /** `alembic -c` path. @default "" */
  readonly alembicConfig?: string;
  /** The app's environment (env.py may read more than DATABASE_URL). @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /** @default DOCKER_HOST */
  readonly dockerHost?: string;
  /**
   * Copy the rows too: slower, but a downgrade that fails only on data (a NOT NULL column put
   * back over existing rows) fails here as well.
   * @default false (the schema and Alembic's revision row only)
   */
  readonly withData?: boolean;
}

/**
 * Rehearses `alembic downgrade <to>` on a scratch copy and returns what it showed. The URL's
 * user needs CREATEDB (the copy lives on the same server).
 * @throws UserError when the copy cannot be made (no CREATEDB, pg_dump missing, ...): then
 * nothing was rehearsed, which is not the same as a step that cannot be undone.
 */
export async function rehearseDowngrade(spec: RehearsalSpec): Promise<Rehearsal> {
  const copy = {
    databaseUrl: spec.databaseUrl,
    withData: spec.withData,
    alembicRevision: spec.from,
    purpose: "the rehearsal's copy",
  };
  return withScratchCopy(copy, async (scratchUrl) => {
    const started = Date.now();
    let output = "";
    let ok = true;
    try {
      await runCommandStep({
        image: spec.image,
        argv: alembicArgv(false, spec.to, spec.alembicConfig ?? ""),
        env: { ...(spec.env ?? {}), DATABASE_URL: scratchUrl },
        dockerHost: spec.dockerHost,
        workingDir: spec.alembicDir,
        what: `rehearsal of alembic downgrade ${spec.from} -> ${spec.to}`,
      });
    } catch (error) {
      if (!(error instanceof CommandFailed)) throw error;
      ok = false;
      output = tailLines(error.output);
    }
    const seconds = (Date.now() - started) / 1000;
    const reached = await withClient(scratchUrl, readAlembicRevision);
    return {
      from: spec.from,
      to: spec.to,
      ok: ok && reached === spec.to,
      reached,
      seconds,
      copied: spec.withData === true ? "schema and data" : "schema",
      output,
    };
  });
}

/** The same server and credentials, another database. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  parsed.searchParams.delete("dbname");
  return parsed.toString();
}
