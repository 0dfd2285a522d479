// The sql tool's steps: one `NNNN_name.up.sql` / `.down.sql` script per step, each in its own
// transaction with its version row; and the refusal of a downgrade through a step without a down
// script, naming the snapshot to restore instead.
import * as fs from "node:fs";
import * as path from "node:path";
import { latestVerifiedSnapshot, listSnapshots, verifySnapshot } from "../adapters/backupStore";
import { describeDatabase, inTransaction, recordStep } from "../adapters/postgres";
import { InternalError, UserError } from "../domain/errors";
import { MigrationStep } from "../domain/migrationSet";
import { Revision, formatRevision, revisionNumber } from "../domain/revision";
import { SnapshotManifest } from "../domain/snapshotManifest";
import type { MigrationInputs, PlannedStep } from "./migration";

/** The step that runs `step`'s up or down script. */
export function sqlStep(inputs: MigrationInputs, step: MigrationStep, up: boolean): PlannedStep {
  const file = up ? step.up : step.down;
  if (file === undefined) {
    throw new InternalError(`step ${step.revision} has no down script but was planned`);
  }
  const before = formatRevision(revisionNumber(step.revision) - 1);
  const from = up ? before : step.revision;
  const to = up ? step.revision : before;
  return {
    from,
    to,
    label: file,
    run: async (client) => {
      const sql = fs.readFileSync(path.join(inputs.migrationsDir, file), "utf8");
      try {
        // One transaction per step, with its version row: a kill between steps leaves the
        // database at a revision the table names, never between two.
        await inTransaction(client, async () => {
          await client.query(sql);
          await recordStep(client, {
            revision: to,
            fromRevision: from,
            direction: up ? "up" : "down",
            step: file,
          });
        });
      } catch (error) {
        throw new UserError(
          `${file} failed on ${describeDatabase(inputs.databaseUrl)}: ${sqlFailure(error, sql)}. ` +
            `The step was rolled back; the database stays at revision ${from}.`,
          { cause: error },
        );
      }
    },
  };
}

// "relation ... does not exist (line 3)": the line helps more than pg's character offset.
function sqlFailure(error: unknown, sql: string): string {
  const e = error as { message?: string; position?: string };
  const position = Number(e.position);
  if (!Number.isInteger(position) || position <= 0) {
    return e.message ?? String(error);
  }
  const line = sql.slice(0, position - 1).split("\n").length;
  return `${e.message ?? String(error)} (line ${line})`;
}

/** The refusal of a downgrade through steps without a down script, naming what to restore. */
export async function irreversibleError(
  inputs: MigrationInputs,
  current: Revision,
  steps: readonly MigrationStep[],
): Promise<UserError> {
  const names = steps.map((s) => `${s.revision} (${s.up})`).join(", ");
  const head =
    `cannot migrate ${describeDatabase(inputs.databaseUrl)} down from ${current} to ` +
    `${inputs.revision}: ${steps.length === 1 ? "step" : "steps"} ${names} ` +
    `${steps.length === 1 ? "has" : "have"} no down script, so no migration can undo ` +
    `${steps.length === 1 ? "it" : "them"}. `;
  const snapshot =
    inputs.storePath === ""
      ? undefined
      : await latestVerifiedSnapshot(inputs.storePath, inputs.database, inputs.revision);
  if (snapshot !== undefined) {
    return new UserError(
      `${head}Restore snapshot ${snapshot.id} instead (taken ${snapshot.takenAt} at revision ` +
        `${snapshot.revision}, verified): set rewind:restore.snapshot to "${snapshot.id}" and run ` +
        `pulumi up. Nothing was changed.`,
    );
  }
  const older = inputs.storePath === "" ? undefined : await olderSnapshot(inputs);
  const fallback =
    older === undefined
      ? ""
      : ` The newest verified snapshot at an earlier revision is ${older.id} (revision ` +
        `${older.revision}, taken ${older.takenAt}): restore it, then migrate up to ${inputs.revision}.`;
  return new UserError(
    `${head}No verified snapshot of database ${JSON.stringify(inputs.database)} at revision ` +
      `${inputs.revision} exists in the backup store ${inputs.storePath || "(none configured)"}. ` +
      `One is taken before every migration while rewind:backup.beforeMigration is true, so it ` +
      `exists only if the database was at ${inputs.revision} when a later migration started.` +
      `${fallback} Nothing was changed.`,
  );
}

async function olderSnapshot(inputs: MigrationInputs): Promise<SnapshotManifest | undefined> {
  const target = revisionNumber(inputs.revision);
  const candidates = listSnapshots(inputs.storePath)
    .snapshots.filter(
      (s) =>
        s.database === inputs.database &&
        /^(base|[0-9]{4})$/.test(s.revision) &&
        revisionNumber(s.revision) < target,
    )
    .reverse();
  for (const candidate of candidates) {
    if ((await verifySnapshot(inputs.storePath, candidate.id)).ok) {
      return candidate;
    }
  }
  return undefined;
}
