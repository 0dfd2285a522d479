// Alembic as Rewind runs it: the argument array of `alembic upgrade|downgrade <rev>` (run in the
// app's image by commandContainer.ts runCommandStep) and Alembic's own record of the revision, which
// is the truth for a database Alembic migrates (a hand-run `alembic downgrade` changes only it).
import { Client } from "pg";
import { UserError } from "../domain/errors";
import { BASE, Revision } from "../domain/revision";

/**
 * The argument array of one Alembic run: `alembic [-c <config>] upgrade|downgrade <revision>`
 * (`-c` is Alembic's global option, so it comes before the subcommand).
 */
export function alembicArgv(up: boolean, revision: Revision, config = ""): string[] {
  return [
    "alembic",
    ...(config === "" ? [] : ["-c", config]),
    up ? "upgrade" : "downgrade",
    revision,
  ];
}

// Alembic's own record of the revision: one row per head, in the connection's search path.
export const ALEMBIC_VERSION_TABLE = "alembic_version";

/**
 * The revision Alembic's `alembic_version` table names: `"base"` when the table does not exist
 * or is empty (never migrated, or downgraded to base).
 * @throws UserError when it names several heads: a branched history has no single revision.
 */
export async function readAlembicRevision(client: Client): Promise<Revision> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [
    ALEMBIC_VERSION_TABLE,
  ]);
  if (exists.rows[0].t === null) {
    return BASE;
  }
  const rows = (
    await client.query<{ version_num: string }>(
      `SELECT version_num FROM ${ALEMBIC_VERSION_TABLE} ORDER BY version_num`,
    )
  ).rows;
  if (rows.length > 1) {
    throw new UserError(
      `${ALEMBIC_VERSION_TABLE} names several heads (${rows.map((r) => r.version_num).join(", ")}); ` +
        `Rewind pins one revision: merge the branches (alembic merge) and pin the merge. ` +
        `Nothing was changed.`,
    );
  }
  return rows[0]?.version_num ?? BASE;
}
