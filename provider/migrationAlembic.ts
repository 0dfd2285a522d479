// The alembic tool's step: `alembic upgrade|downgrade <rev>` run once in a container of the app's
// image. Alembic commits revision by revision, so Rewind's record follows Alembic's own table,
// also after a failure.
import { ALEMBIC_VERSION_TABLE, alembicArgv, readAlembicRevision } from "../adapters/alembic";
import { CommandFailed, runCommandStep } from "../adapters/commandContainer";
import { recordStep } from "../adapters/postgres";
import { UserError } from "../domain/errors";
import { TOOL_OUTPUT_LINES, tailLines } from "../domain/rehearsal";
import { Revision } from "../domain/revision";
import type { MigrationInputs, PlannedStep } from "./migration";

/** The one step from `current` to `inputs.revision`, `up` or down. */
export function alembicStep(inputs: MigrationInputs, current: Revision, up: boolean): PlannedStep {
  const argv = alembicArgv(up, inputs.revision, inputs.alembicConfig ?? "");
  const what = `${inputs.tool} migration ${current} -> ${inputs.revision}`;
  return {
    from: current,
    to: inputs.revision,
    label: JSON.stringify(argv),
    run: async (client) => {
      let failure: unknown;
      try {
        await runCommandStep({
          image: inputs.image,
          argv,
          env: { ...inputs.env, DATABASE_URL: inputs.databaseUrl },
          dockerHost: inputs.dockerHost,
          workingDir: inputs.alembicDir,
          what,
        });
      } catch (error) {
        failure = error;
      }
      // Alembic commits revision by revision (as env.py says), so a failure may stop
      // between two: its own table says where, and Rewind's record follows it.
      const reached = await readAlembicRevision(client);
      if (reached !== current) {
        await recordStep(client, {
          revision: reached,
          fromRevision: current,
          direction: up ? "up" : "down",
          step: argv.join(" "),
        });
      }
      if (failure !== undefined) {
        throw alembicFailure(what, failure, current, reached);
      }
      if (reached !== inputs.revision) {
        throw new UserError(
          `${what}: ${JSON.stringify(argv)} succeeded but ${ALEMBIC_VERSION_TABLE} names ` +
            `revision ${reached}, not ${inputs.revision}; does env.py commit its transaction? ` +
            `Rewind recorded ${reached}.`,
        );
      }
    },
  };
}

/** A failed Alembic run, saying where the database stayed; the tool's output comes last. */
function alembicFailure(
  what: string,
  failure: unknown,
  current: Revision,
  reached: Revision,
): UserError {
  const where =
    reached === current
      ? `The database stays at revision ${current}`
      : `The revisions up to ${reached} were committed before the failure: the database is ` +
        `at revision ${reached}, which Rewind recorded`;
  if (failure instanceof CommandFailed) {
    return new UserError(
      `${what} failed: ${JSON.stringify(failure.step.argv)} exited with ${failure.exitCode}. ` +
        `${where} (${ALEMBIC_VERSION_TABLE}). Alembic's output (its last ${TOOL_OUTPUT_LINES} ` +
        `lines):\n${tailLines(failure.output)}`,
      { cause: failure },
    );
  }
  const message = failure instanceof Error ? failure.message : String(failure);
  return new UserError(`${message} ${where} (${ALEMBIC_VERSION_TABLE}).`, { cause: failure });
}
