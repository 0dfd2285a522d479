// Benchmark 2: schema rollback of one revision (0002 -> 0001) on items with 1M rows.
//   rewind            `pulumi up` with 0001 pinned (a verified BackupSnapshot first, then the
//                     Migration's down step)
//   raw               psql -f 0002_add_slug.down.sql, alone and after a pg_dump -Fc (the
//                     runbook's backup before a downgrade)
// Between reps the database goes back to 0002 the same way it came down (not timed).
// (No variant without the backup: the Migration refuses a schema change without a verified
// snapshot taken just before it. The backup's share comes from the run's engine event log.)
// Also measured here: a no-change `pulumi up` on the same stack, the fixed cost of any run
// (engine start, program load, reading the current release, state write).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Cleanup, Env, dbUrl, freshDatabase, psql, run, timed } from "./lib";
import { UpPhases } from "./profile";
import { BenchStack } from "./stack";

const MIGRATIONS = "examples/hunter/migrations";

/** 1M rows more into items (at 0002: name, legacy_code, slug). */
export async function fillItems(env: Env, db: string, rows: number): Promise<void> {
  await psql(env, db, [
    "-c",
    `INSERT INTO items (name, legacy_code, slug)
     SELECT 'Bench ' || i, 'B-' || i, 'bench-' || i FROM generate_series(1, ${rows}) AS i`,
    "-c",
    "VACUUM ANALYZE items",
  ]);
}

export interface SchemaResults {
  readonly rewind: number[];
  readonly noChangeUp: number[];
  /** Phases of each timed run, in the order of the samples above. */
  readonly rewindProfiles: UpPhases[];
  readonly noChangeProfiles: UpPhases[];
  /** CPU profile of one more no-change up (not timed). */
  cpu?: string;
}

/** On `stack` (at 1.1.0 / 0002 over `db`): fills `rows`, then times the rollbacks. */
export async function benchRewindSchemaRollback(
  stack: BenchStack,
  env: Env,
  db: string,
  rows: number,
  reps: number,
): Promise<SchemaResults> {
  await fillItems(env, db, rows);
  await stack.set({ "app.version": "1.0.0", "database.revision": "0002" });
  await stack.up("bench: 1.0.0 at 0002");
  const out: SchemaResults = {
    rewind: [],
    noChangeUp: [],
    rewindProfiles: [],
    noChangeProfiles: [],
  };
  for (let i = 0; i < reps; i++) {
    await stack.set({ "database.revision": "0001" });
    const down = await stack.upProfiled("bench: schema rollback to 0001");
    out.rewind.push(down.ms);
    out.rewindProfiles.push(down.phases);
    await stack.set({ "database.revision": "0002" });
    await stack.up("bench: back to 0002");
    const same = await stack.upProfiled("bench: no change");
    out.noChangeUp.push(same.ms);
    out.noChangeProfiles.push(same.phases);
  }
  out.cpu = (await stack.upProfiled("bench: no change, profiled", true)).cpu;
  return out;
}

/** psql running the down script alone, and after a pg_dump -Fc as the runbook's backup. */
export interface RawSchemaResults {
  readonly down: number[];
  readonly dumpThenDown: number[];
}

export async function benchRawSchemaRollback(
  env: Env,
  cleanup: Cleanup,
  rows: number,
  reps: number,
  tag: string,
): Promise<RawSchemaResults> {
  const db = `bench_schema_raw_${tag}`;
  await freshDatabase(env, cleanup, db);
  const file = (name: string) => path.join(env.root, MIGRATIONS, name);
  await psql(env, db, ["-f", file("0001_create_items.up.sql"), "-f", file("0002_add_slug.up.sql")]);
  await fillItems(env, db, rows);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-bench-schema-"));
  cleanup.add(`remove ${dir}`, async () => fs.rmSync(dir, { recursive: true, force: true }));
  const out: RawSchemaResults = { down: [], dumpThenDown: [] };
  const down = () => psql(env, db, ["-f", file("0002_add_slug.down.sql")]);
  const up = () => psql(env, db, ["-f", file("0002_add_slug.up.sql")]);
  for (let i = 0; i < reps; i++) {
    out.down.push((await down()).ms);
    await up();
    out.dumpThenDown.push(
      await timed(async () => {
        await run(
          "pg_dump",
          [
            "--format=custom",
            "--no-password",
            `--file=${path.join(dir, "before-down.dump")}`,
            `--dbname=${dbUrl(env, db)}`,
          ],
          { env: { PGPASSWORD: env.pgPassword } },
        );
        await down();
      }),
    );
    await up();
  }
  return out;
}
