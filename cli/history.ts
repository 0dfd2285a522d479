// `rewind history`: one line per update of the stack. One history call (its configs carry
// version, revision and restore pin), one outputs call (the newest update's digest) and one
// listing per backup store (which snapshot each update took): no call per update, so hundreds
// of updates cost what ten do.
import * as path from "node:path";
import { listSnapshots } from "../adapters/backupStore";
import { StackAccess, defaultProjectDir } from "./stackAccess";
import {
  COMMON_HELP,
  CliIo,
  Command,
  ExitCode,
  UsageError,
  parseCommand,
  stringOption,
} from "./options";
import { HistoryEntry, SnapshotRecord } from "../domain/pins";
import { HistoryRow, formatHistoryTable, historyRows } from "./stackHistory";

const usage = `Usage: rewind history [--limit N] [--json] [--stack S]

One line per update of the stack, newest first: number, start time, result, app version,
image digest, schema revision, the snapshot the update took or restored, and how long it took.
The digest is known for the newest update (the stack's outputs) and for versions pinned by
digest; the stack's history records each update's config, not its outputs.

Options:
  --limit N       only the newest N updates
  --json          the rows as JSON
${COMMON_HELP}`;

/** Every snapshot manifest in the backup stores the history's configs name (paths resolved
 * against the project, as the program resolves them). Unreadable manifests are skipped. */
export function collectSnapshots(
  workDir: string,
  entries: readonly HistoryEntry[],
): SnapshotRecord[] {
  const stores = new Set(
    entries.map((e) => e.pins.storePath).filter((p): p is string => p !== undefined),
  );
  const records: SnapshotRecord[] = [];
  for (const store of stores) {
    const storePath = path.resolve(workDir, store);
    try {
      for (const m of listSnapshots(storePath).snapshots) {
        records.push({
          id: m.id,
          database: m.database,
          revision: m.revision,
          appVersion: m.appVersion,
          takenAt: m.takenAt,
          reason: m.reason,
          storePath,
        });
      }
    } catch {
      // A store that cannot be read (gone, no permission) only loses the snapshot column.
    }
  }
  return records;
}

/** History entries and their rows, from one history and one outputs call. */
export async function readHistory(
  session: StackAccess,
): Promise<{ entries: HistoryEntry[]; rows: HistoryRow[] }> {
  const [entries, outputs] = await Promise.all([session.history(), session.outputs()]);
  const rows = historyRows(entries, collectSnapshots(session.workDir, entries), outputs);
  return { entries, rows };
}

export const history: Command = {
  name: "history",
  summary: "one line per update: version, digest, schema, snapshot, result, duration",
  usage,
  async run(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const { common, values } = parseCommand(args, { limit: { type: "string" } }, io.env);
    if (common.help) {
      io.stdout(`${usage}\n`);
      return ExitCode.ok;
    }
    const limitText = stringOption(values, "limit");
    const limit = limitText === undefined ? undefined : Number(limitText);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw new UsageError(`--limit ${limitText}: expected a whole number of at least 1`);
    }
    const session = await StackAccess.open(defaultProjectDir(io.env), common.stack);
    try {
      const { rows } = await readHistory(session);
      const shown = limit === undefined ? rows : rows.slice(0, limit);
      if (common.json) {
        io.stdout(`${JSON.stringify({ stack: session.name, updates: shown }, null, 2)}\n`);
      } else if (shown.length === 0) {
        io.stdout(`stack ${session.name} has no updates yet\n`);
      } else {
        io.stdout(formatHistoryTable(shown));
      }
      return ExitCode.ok;
    } finally {
      await session.close();
    }
  },
};
