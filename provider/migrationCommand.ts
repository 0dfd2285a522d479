// The command tool's step: the team's own up or down command, with the target revision
// appended, run once in a container of the app's image; its version row follows only once it
// succeeded.
import { runCommandStep } from "../adapters/commandContainer";
import { recordStep } from "../adapters/postgres";
import { UserError } from "../domain/errors";
import { Revision } from "../domain/revision";
import type { MigrationInputs, PlannedStep } from "./migration";

/** The one step from `current` to `inputs.revision`, `up` or down. */
export function commandStep(inputs: MigrationInputs, current: Revision, up: boolean): PlannedStep {
  const base = up ? inputs.commandUp : inputs.commandDown;
  if (base.length === 0) {
    throw new UserError(`the command tool has no ${up ? "up" : "down"} command`);
  }
  const argv = [...base, inputs.revision];
  return {
    from: current,
    to: inputs.revision,
    label: JSON.stringify(argv),
    run: async (client) => {
      // An opaque command: its version row follows only once it succeeded.
      await runCommandStep({
        image: inputs.image,
        argv,
        env: { ...inputs.env, DATABASE_URL: inputs.databaseUrl },
        dockerHost: inputs.dockerHost,
        what: `${inputs.tool} migration ${current} -> ${inputs.revision}`,
      });
      await recordStep(client, {
        revision: inputs.revision,
        fromRevision: current,
        direction: up ? "up" : "down",
        step: argv.join(" "),
      });
    },
  };
}
