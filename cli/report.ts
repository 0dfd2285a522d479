// `rewind report`: the runbooks' rollback report (docs/runbooks.md) for a rollback in the stack's history, as Markdown, and optionally the chat
// message to a webhook.
import * as fs from "node:fs";
import { UserError } from "../domain/errors";
import { StackAccess, defaultProjectDir } from "./stackAccess";
import { readHistory } from "./history";
import { checkWebhookUrl, postWebhook } from "./notify";
import {
  COMMON_HELP,
  CliIo,
  Command,
  ExitCode,
  UsageError,
  parseCommand,
  stringOption,
} from "./options";
import { buildReport, formatReport, newestRollback, webhookPayload } from "./rollbackReport";

const usage = `Usage: rewind report [--update N] [--out FILE] [--notify URL]
                     [--issue TEXT] [--severity LEVEL] [--json] [--stack S]

The rollback report of the runbooks as Markdown: issue and severity (the decision matrix),
rollback method, start, end and time to roll back against the method's target, app versions,
schema revisions and snapshot before and after, what was verified (the health gate's checks),
a root-cause and prevention section for a person to fill in, and a timeline.

Options:
  --update N       the rollback's update (default: the newest rollback in the history)
  --out FILE       write the Markdown to FILE instead of stdout
  --notify URL     POST the chat message (JSON with a "text" field) to this webhook
  --issue TEXT     describe the issue (a manual rollback's reason is not in the history)
  --severity L     rate it: Critical, High, Medium, Low
  --json           the report's facts as JSON instead of Markdown
${COMMON_HELP}

Exit codes: 0 written (and sent); 2 bad input; 3 the webhook did not accept the message.`;

export const report: Command = {
  name: "report",
  summary: "the rollback report (Markdown) for a rollback; --notify posts the chat message",
  usage,
  async run(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const { common, values } = parseCommand(
      args,
      {
        update: { type: "string" },
        out: { type: "string" },
        notify: { type: "string" },
        issue: { type: "string" },
        severity: { type: "string" },
      },
      io.env,
    );
    if (common.help) {
      io.stdout(`${usage}\n`);
      return ExitCode.ok;
    }
    const updateText = stringOption(values, "update");
    if (updateText !== undefined && !/^[0-9]+$/.test(updateText)) {
      throw new UsageError(
        `--update ${updateText}: expected an update number (see rewind history)`,
      );
    }
    const notify = stringOption(values, "notify");
    const webhook = notify === undefined ? undefined : checkWebhookUrl(notify);
    const out = stringOption(values, "out");

    const session = await StackAccess.open(defaultProjectDir(io.env), common.stack);
    try {
      const { entries, rows } = await readHistory(session);
      let update: number;
      if (updateText !== undefined) {
        update = Number(updateText);
        const entry = entries.find((e) => e.number === update);
        if (entry === undefined || entry.kind !== "update") {
          throw new UserError(
            `--update ${update}: stack ${session.name} has no update ${update}` +
              (entry === undefined ? "" : ` (it is a ${entry.kind})`) +
              "; see rewind history",
          );
        }
      } else {
        const found = newestRollback(entries);
        if (found === undefined) {
          throw new UserError(
            `stack ${session.name} has no rollback in its history; pass --update N to report on an update`,
          );
        }
        update = found.number;
      }
      const facts = buildReport(entries, rows, {
        stack: session.name,
        update,
        now: io.now(),
        issue: stringOption(values, "issue"),
        severity: stringOption(values, "severity"),
      });
      const text = common.json ? `${JSON.stringify(facts, null, 2)}\n` : formatReport(facts);
      if (out === undefined) {
        io.stdout(text);
      } else {
        fs.writeFileSync(out, text);
        io.stderr(`Wrote the report of update ${update} to ${out}\n`);
      }
      if (webhook !== undefined) {
        try {
          const { status } = await postWebhook(webhook, webhookPayload(facts));
          io.stderr(`Posted the rollback message to ${webhook.origin} (HTTP ${status})\n`);
        } catch (error) {
          io.stderr(
            `The report was written, but the message was not sent: ${(error as Error).message}\n`,
          );
          return ExitCode.failed;
        }
      }
      return ExitCode.ok;
    } finally {
      await session.close();
    }
  },
};
