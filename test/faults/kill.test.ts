// SIGKILL of the whole `pulumi up` process tree (CLI, language host, provider plugin, pg_dump or
// psql) at random points of a backup, a migration, the app swap and a restore, on the real
// engine and a table large enough that each phase lasts seconds. The trials are chosen by a
// seeded PRNG: FAULT_SEED reproduces a run, FAULT_TRIALS sets how many (default 20).
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { listSnapshots, verifySnapshot } from "../../adapters/backupStore";
import { takeSnapshot } from "../../provider/backupSnapshot";
import { sql } from "../integration/postgres";
import { repoRoot } from "../integration/workspace";
import {
  COLUMNS_AT,
  FaultStack,
  Observed,
  deployFaultStack,
  killTree,
  observe,
  prng,
  quiet,
  recoverStack,
  spawnUp,
} from "./harness";

type Phase = "backup" | "migration" | "swap" | "restore";
const PHASES: Phase[] = ["backup", "migration", "swap", "restore"];
const STEP_TYPE: Record<Phase, string> = {
  backup: "BackupSnapshot",
  migration: "Migration",
  swap: "DockerDeployment",
  restore: "Restore",
};
// How long each phase runs on this table on a busy 2-core machine, roughly: the kill lands
// uniformly inside it (the phase it really hit is read from the CLI's output and reported).
const WINDOW_MS: Record<Phase, number> = {
  backup: 4_000,
  migration: 3_000,
  swap: 1_500,
  restore: 1_500,
};
const PINS = {
  "0001": { "rewind:app.version": "1.0.0", "rewind:database.revision": "0001" },
  "0002": { "rewind:app.version": "1.1.0", "rewind:database.revision": "0002" },
} as const;
const VERSION_AT = { "0001": "1.0.0", "0002": "1.1.0" } as const;
type At = keyof typeof PINS;

const seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const trials = Number(process.env.FAULT_TRIALS ?? 20);
const rows = Number(process.env.FAULT_ROWS ?? 150_000);

describe(`SIGKILL of pulumi up at random points (FAULT_SEED=${seed})`, () => {
  let s: FaultStack;
  let baseline: Observed["data"];
  let at: At = "0001";
  const random = prng(seed);
  const results: string[] = [];

  before(async () => {
    console.log(`# FAULT_SEED=${seed} (set it to replay these trials)`);
    s = await deployFaultStack("fault-kill", rows);
    baseline = (await observe(s)).data;
    // Up and down once, so a snapshot exists at each revision for the restore trials.
    await s.pin(PINS["0002"]);
    await s.stack.up(quiet);
    await s.pin(PINS["0001"]);
    await s.stack.up(quiet);
  });

  after(async () => {
    console.log(results.map((r) => `# ${r}`).join("\n"));
    await s?.dispose();
  });

  // Each phase equally often, in a seeded order.
  const phases: Phase[] = Array.from({ length: trials }, (_, i) => PHASES[i % PHASES.length]);
  for (let i = phases.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [phases[i], phases[j]] = [phases[j], phases[i]];
  }
  const delays = phases.map((p) => Math.round(random() * WINDOW_MS[p]));

  phases.forEach((phase, i) => {
    test(`trial ${i + 1}: kill ${delays[i]} ms into the ${phase} (FAULT_SEED=${seed})`, async () => {
      const from = at;
      const to: At = phase === "restore" ? at : at === "0001" ? "0002" : "0001";
      let snapshot: string | undefined;
      let fresh = false;
      if (phase === "restore") {
        ({ id: snapshot, fresh } = await snapshotToRestore(s, at));
        await s.pin({ ...PINS[at], "rewind:restore.snapshot": snapshot });
      } else {
        await s.pin(PINS[to]);
      }
      const config = fs.readFileSync(s.configFile, "utf8");
      const label =
        `trial ${i + 1} (${phase}${fresh ? " of a fresh snapshot" : ""} +${delays[i]} ms, ` +
        `${from} -> ${to}, FAULT_SEED=${seed})`;

      const up = spawnUp(s.stack.name);
      await up.stepStarted(STEP_TYPE[phase]);
      await new Promise((r) => setTimeout(r, delays[i]));
      const finishedFirst = up.child.exitCode !== null;
      const killed = await killTree(up);
      const hit = lastStep(up.output());

      // Right after the kill: nothing lost, the schema whole, an app that answers old or new.
      const now = await observe(s);
      assert.deepEqual(now.data, baseline, `${label}: rows or checksum changed`);
      assert.ok(now.revision === from || now.revision === to, `${label}: revision ${now.revision}`);
      assert.deepEqual(
        now.columns,
        COLUMNS_AT[now.revision],
        `${label}: columns at ${now.revision}`,
      );
      const versions = [VERSION_AT[from], VERSION_AT[to]];
      if (phase === "restore") {
        // A restore is a maintenance window: the app may be stopped, never a wrong version.
        assert.ok(now.served === undefined || versions.includes(now.served as never), label);
      } else {
        assert.ok(versions.includes(now.served as never), `${label}: serves ${now.served}`);
      }
      if (now.served === "1.1.0") {
        assert.equal(now.revision, "0002", `${label}: 1.1.0 runs on schema ${now.revision}`);
      }
      assert.equal(fs.readFileSync(s.configFile, "utf8"), config, `${label}: config file changed`);

      // The next converge: rewind recover clears what the dead process left, then up reaches
      // the pins.
      const recovered = await recoverStack(s.stack.name);
      assert.equal(recovered.code, 0, `${label}: rewind recover: ${recovered.stderr}`);
      const result = await s.stack.up(quiet);
      const converged = await observe(s);
      assert.equal(converged.served, VERSION_AT[to], `${label}: after up`);
      assert.equal(converged.revision, to, `${label}: after up`);
      assert.deepEqual(converged.columns, COLUMNS_AT[to], `${label}: after up`);
      assert.deepEqual(converged.data, baseline, `${label}: after up`);
      assert.deepEqual(
        fs.readdirSync(s.store).filter((f) => f.startsWith(".partial-")),
        [],
        label,
      );
      if (snapshot !== undefined) {
        const restored = await sql<{ snapshot_id: string }>(
          s.dbUrl,
          "select snapshot_id from rewind_restores where snapshot_id = $1",
          [snapshot],
        );
        assert.equal(restored.length, 1, `${label}: the restore is recorded once`);
        await s.stack.removeConfig("rewind:restore.snapshot", true);
      }
      at = to;
      results.push(
        `${label}: killed ${killed} processes${finishedFirst ? " (after it had ended)" : ""} ` +
          `at "${hit}"; ` +
          `right after: serves ${now.served ?? "nothing"}, schema ${now.revision}; rewind ` +
          `recover: ${recovered.verdict}; up: ${result.summary.result}`,
      );
    });
  });

  test("secrets: the database password is in no state file, output, history or manifest", async () => {
    const password = new URL(s.dbUrl).password;
    assert.ok(password.length >= 8);
    const backend = new URL(process.env.PULUMI_BACKEND_URL!).pathname;
    const leaks: string[] = [];
    const scan = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) scan(full);
        else if (entry.isFile() && fs.readFileSync(full).includes(password)) leaks.push(full);
      }
    };
    scan(backend);
    scan(s.store);
    scan(path.dirname(s.configFile));
    assert.deepEqual(leaks, [], "files that carry the password");
    const outputs = JSON.stringify(await s.stack.outputs());
    assert.ok(!outputs.includes(password), "stack outputs");
    const { stdout } = await promisify(execFile)(
      "pulumi",
      ["stack", "history", "--json", "--show-secrets=false", "--stack", s.stack.name],
      { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 },
    );
    assert.ok(JSON.parse(stdout).length > 0);
    assert.ok(!stdout.includes(password), "pulumi stack history --json");
  });
});

/** The last step line the CLI printed before the kill, e.g. `Migration hunter-migration updating`. */
function lastStep(output: string): string {
  const steps = [...output.matchAll(/rewind:index:(\w+ \S+ [a-z ]+?) \(/g)];
  return steps.at(-1)?.[1] ?? "before any step";
}

/**
 * The newest verified snapshot taken at `revision` that no trial restored yet. When every one
 * was (two restore trials at one revision, with no migration away from it in between), a fresh
 * one is taken first, by the BackupSnapshot's own code, so every FAULT_SEED has one to restore.
 */
async function snapshotToRestore(
  s: FaultStack,
  revision: At,
): Promise<{ id: string; fresh: boolean }> {
  const restored = new Set(
    (
      await sql<{ snapshot_id: string }>(s.dbUrl, "select snapshot_id from rewind_restores").catch(
        () => [],
      )
    ).map((r) => r.snapshot_id),
  );
  const ids = listSnapshots(s.store)
    .snapshots.filter((snap) => !restored.has(snap.id) && snap.revision === revision)
    .map((snap) => snap.id);
  for (const id of ids.reverse()) {
    if ((await verifySnapshot(s.store, id)).ok) return { id, fresh: false };
  }
  const taken = await takeSnapshot({
    databaseUrl: s.dbUrl,
    database: s.dbName,
    revision,
    appVersion: VERSION_AT[revision],
    storePath: s.store,
    include: ["database"],
    // The stack's own retention (rewind:backup.retain's defaults), so nothing else is pruned.
    retain: { days: 30, keepAtLeast: 5 },
    reason: "fault trial: a snapshot to restore",
    volumesRoot: "",
    keep: [],
    lockTimeoutSeconds: 60,
  });
  return { id: taken.snapshotId, fresh: true };
}
