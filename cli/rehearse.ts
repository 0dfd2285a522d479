// `rewind rehearse --to-update N | --to-version V`: runs the Alembic downgrade a rollback to that
// update would run, on a throwaway copy of the database (adapters/rehearsal.ts), and says which
// steps can be undone. `rewind plan` and `rewind rollback` rehearse the same way before
// deciding; this command shows the rehearsal alone.
import { rehearseDowngrade } from "../adapters/rehearsal";
import { resolveDigest } from "../adapters/registry";
import { Rehearsal } from "../domain/rehearsal";
import { StackConfig, isRecord, namespaceObject } from "../domain/pins";
import { StackAccess, defaultProjectDir } from "./stackAccess";
import { COMMON_HELP, CliIo, Command, ExitCode, parseCommand } from "./options";
import { TARGET_HELP, TARGET_OPTIONS, targetOption } from "./target";
import { planRollback } from "./plan";

const usage = `Usage: rewind rehearse (--to-update N | --to-version V) [--with-data] [--json] [--stack S]

Rehearses the schema's way down to that update on a throwaway copy of the database: creates a
scratch database on the same server (the database URL's user needs CREATEDB), copies the
schema into it (and the rows with --with-data), runs alembic downgrade <rev> there in the image
of the version that runs now, reads where the copy stopped, and drops it. The real database is
only read. Prints each step down as undone or not, and the tool's last 20 lines when it failed.
rewind plan and rewind rollback rehearse the same way before they decide.

Options:
${TARGET_HELP}
  --with-data     copy the rows too (slower; catches a downgrade that fails only on data)
  --json          the rehearsal as JSON
${COMMON_HELP}

Exit codes: 0 every step down can be undone (or nothing to rehearse); 2 bad input; 3 a step
cannot be undone, or the rehearsal could not run.`;

/** What the plan needs to rehearse: the current config (secrets decrypted) and what runs. */
export interface RehearsalContext {
  readonly config: StackConfig;
  /** The image repository and the version or digest that runs now. */
  readonly image: string | undefined;
  readonly appVersion: string | undefined;
  readonly digest: string | undefined;
  readonly from: string;
  readonly to: string;
  readonly withData: boolean;
}

/**
 * Rehearses `alembic downgrade <to>` for the plan: the rehearsal, or why there is none (a note
 * for the plan; the plan then keeps "each step's downgrade() decides at run time").
 */
export async function rehearseForPlan(
  context: RehearsalContext,
): Promise<{ rehearsal?: Rehearsal; note?: string }> {
  const database = namespaceObject(context.config, "rewind:database") ?? {};
  const app = namespaceObject(context.config, "rewind:app") ?? {};
  const migrations = isRecord(database.migrations) ? database.migrations : {};
  const url = typeof database.url === "string" ? database.url : undefined;
  if (url === undefined) {
    return { note: "not rehearsed: the stack's config has no database URL" };
  }
  if (context.image === undefined || (context.digest ?? context.appVersion) === undefined) {
    return { note: "not rehearsed: the image that runs now is unknown" };
  }
  try {
    const digest = context.digest ?? (await resolveDigest(context.image, context.appVersion!));
    const env = isRecord(app.env)
      ? Object.fromEntries(
          Object.entries(app.env).filter((e): e is [string, string] => typeof e[1] === "string"),
        )
      : {};
    const rehearsal = await rehearseDowngrade({
      databaseUrl: url,
      image: `${context.image}@${digest}`,
      from: context.from,
      to: context.to,
      alembicDir: typeof migrations.dir === "string" ? migrations.dir : undefined,
      alembicConfig: typeof migrations.config === "string" ? migrations.config : undefined,
      env,
      withData: context.withData,
    });
    return { rehearsal };
  } catch (error) {
    return { note: `not rehearsed: ${(error as Error).message}` };
  }
}

export const rehearse: Command = {
  name: "rehearse",
  summary: "run the way down to an update on a throwaway copy of the database",
  usage,
  async run(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const { common, values } = parseCommand(
      args,
      { ...TARGET_OPTIONS, "with-data": { type: "boolean", default: false } },
      io.env,
    );
    if (common.help) {
      io.stdout(`${usage}\n`);
      return ExitCode.ok;
    }
    const to = targetOption(values);
    const session = await StackAccess.open(defaultProjectDir(io.env), common.stack);
    try {
      const { plan } = await planRollback(session, to, {
        restore: false,
        preview: false,
        io,
        quiet: common.quiet,
        rehearse: true,
        withData: values["with-data"] === true,
        // The downgrade alone: rewind plan tries the app on the newer schema.
        detect: false,
      });
      const s = plan.schema;
      const failed = s.stepsDown.some((step) => step.reversible === false);
      const rehearsed = s.rehearsal !== null;
      if (common.json) {
        io.stdout(
          `${JSON.stringify({ from: s.from, to: s.to, rehearsal: s.rehearsal, stepsDown: s.stepsDown, note: s.note }, null, 2)}\n`,
        );
      } else {
        const lines = [
          `Rehearsal for stack ${session.name}: schema ${s.from ?? "?"} → ${s.to ?? "?"} (${s.direction})`,
          ...s.stepsDown.map(
            (step) =>
              `  ${step.revision}: ${
                step.reversible === true
                  ? "undone on the copy"
                  : step.reversible === false
                    ? "CANNOT be undone: its downgrade failed on the copy"
                    : "not reached"
              }`,
          ),
          ...(s.note === null ? [] : [`  (${s.note})`]),
        ];
        io.stdout(`${lines.join("\n")}\n`);
      }
      if (s.direction !== "down") return ExitCode.ok;
      return rehearsed && !failed ? ExitCode.ok : ExitCode.failed;
    } finally {
      await session.close();
    }
  },
};
