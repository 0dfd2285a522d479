// A downgrade rehearsed on a throwaway copy of the database: the schema (and, when asked, its
// rows) is copied into a scratch database on the same server, the team's own
// `alembic downgrade <rev>` runs against it in the image that runs now, and the scratch database
// is dropped. Nothing of the real database is changed; what the copy was left at says which
// step cannot be undone (domain/rehearsal.ts reads it).
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ALEMBIC_VERSION_TABLE, alembicArgv, readAlembicRevision } from "./alembic";
import { CommandFailed, runCommandStep } from "./commandContainer";
import { libpqTarget } from "./pgTools";
import { describeDatabase, withClient } from "./postgres";
import { runProcess } from "./process";
import { Rehearsal, tailLines } from "../domain/rehearsal";
import { UserError } from "../domain/errors";

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
  const scratch = `rewind_rehearsal_${randomBytes(4).toString("hex")}`;
  const scratchUrl = withDatabase(spec.databaseUrl, scratch);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-rehearsal-"));
  const dump = path.join(dir, "copy.dump");
  const what = `the rehearsal's copy of ${describeDatabase(spec.databaseUrl)}`;
  try {
    await withClient(spec.databaseUrl, (c) => c.query(`CREATE DATABASE "${scratch}"`)).catch(
      (error: Error) => {
        throw new UserError(
          `cannot create ${what} (CREATE DATABASE ${scratch}): ${error.message}. The database ` +
            `URL's user needs CREATEDB to rehearse; nothing was rehearsed or changed.`,
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
    if (spec.withData !== true) {
      // The schema alone has Alembic's table but not its row: without it Alembic would think
      // the copy is at base.
      await withClient(scratchUrl, (c) =>
        c.query(`INSERT INTO ${ALEMBIC_VERSION_TABLE} (version_num) VALUES ($1)`, [spec.from]),
      );
    }
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
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await withClient(spec.databaseUrl, (c) =>
      c.query(`DROP DATABASE IF EXISTS "${scratch}" WITH (FORCE)`),
    ).catch(() => undefined);
  }
}

/** The same server and credentials, another database. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  parsed.searchParams.delete("dbname");
  return parsed.toString();
}
