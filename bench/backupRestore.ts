// Benchmark 3: backup and restore of a database of incompressible data, calling the providers'
// implementations directly (takeSnapshot, restoreSnapshot: what `pulumi up` runs for a
// BackupSnapshot or a pinned Restore, without the engine around them; the engine's fixed cost is
// the no-change `pulumi up` of benchmark 2).
//   backup   takeSnapshot (pg_dump -Fc under Rewind's lock, sha256 manifest, re-read to verify)
//            vs raw pg_dump -Fc
//   restore  restoreSnapshot of that snapshot into the same database (verify, empty the
//            database and load in one transaction through psql) vs raw pg_restore -j2 into a
//            fresh database, and vs Rewind's method by hand (pg_restore --clean -f - | psql
//            --single-transaction, no verification): the difference between the raw rows is the
//            method's, the rest Rewind's own.
// The data: an attachments table (uploaded files, already compressed: random bytes, 1 KiB a
// row, stored inline below the TOAST threshold) with an index on the owner, so zlib in
// pg_dump -Fc cannot shrink it and the restore has an index to build.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Cleanup, Env, dbUrl, freshDatabase, psql, run, runPipe, timed } from "./lib";
import { hashFile } from "../adapters/backupStore";
import { DEFAULT_VOLUMES_ROOT } from "../domain/backupItem";
import { takeSnapshot } from "../provider/backupSnapshot";
import { restoreSnapshot } from "../provider/restore";

export interface BackupResults {
  /** The data: the attachments table with its indexes (not the catalog). */
  readonly databaseBytes: number;
  dumpBytes: number;
  /** Time to generate the data (not a benchmark; says what a run costs). */
  fillMs: number;
  readonly rewindBackup: number[];
  readonly rawBackup: number[];
  /** sha256 of the dump once: the snapshot reads it twice (manifest, then verification). */
  readonly hashDump: number[];
  readonly rewindRestore: number[];
  readonly rawRestore: number[];
  /** pg_restore --clean -f - | psql --single-transaction: Rewind's method, by hand. */
  readonly pipeRestore: number[];
}

export async function fillAttachments(env: Env, db: string, megabytes: number): Promise<void> {
  // 64 md5s of random() decoded from hex: 1024 random bytes a row.
  await psql(env, db, [
    "-c",
    `CREATE TABLE attachments (
       id bigint PRIMARY KEY,
       owner_id int NOT NULL,
       filename text NOT NULL,
       content_type text NOT NULL,
       created_at timestamptz NOT NULL,
       payload bytea NOT NULL)`,
    "-c",
    `INSERT INTO attachments
     SELECT i, (random() * 10000)::int, 'upload-' || md5(i::text) || '.jpg', 'image/jpeg',
            now() - random() * interval '365 days',
            (SELECT decode(string_agg(md5(random()::text || i || g), ''), 'hex')
               FROM generate_series(1, 64) AS g)
       FROM generate_series(1, ${Math.round(megabytes * 1024)}) AS i`,
    "-c",
    "CREATE INDEX attachments_owner ON attachments (owner_id)",
    "-c",
    "VACUUM ANALYZE attachments",
  ]);
}

export async function benchBackupRestore(
  env: Env,
  cleanup: Cleanup,
  megabytes: number,
  reps: number,
  tag: string,
): Promise<BackupResults> {
  const db = `bench_blob_${tag}`;
  const target = `bench_blob_restore_${tag}`;
  await freshDatabase(env, cleanup, db);
  const fillMs = await timed(() => fillAttachments(env, db, megabytes));
  const databaseBytes = Number(
    (await psql(env, db, ["-c", "SELECT pg_total_relation_size('attachments')"])).stdout.trim(),
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-bench-backup-"));
  cleanup.add(`remove ${dir}`, async () => fs.rmSync(dir, { recursive: true, force: true }));
  const store = path.join(dir, "store");
  const rawFile = path.join(dir, "raw.dump");
  const url = dbUrl(env, db);
  const pgEnv = { PGPASSWORD: env.pgPassword };
  const out: BackupResults = {
    databaseBytes,
    dumpBytes: 0,
    fillMs,
    rewindBackup: [],
    rawBackup: [],
    hashDump: [],
    rewindRestore: [],
    rawRestore: [],
    pipeRestore: [],
  };
  let snapshotId = "";
  for (let i = 0; i < reps; i++) {
    out.rawBackup.push(
      (
        await run(
          "pg_dump",
          ["--format=custom", "--no-password", `--file=${rawFile}`, `--dbname=${url}`],
          { env: pgEnv },
        )
      ).ms,
    );
    out.hashDump.push(await timed(() => hashFile(rawFile)));
    out.dumpBytes = fs.statSync(rawFile).size;
    out.rewindBackup.push(
      await timed(async () => {
        const snap = await takeSnapshot({
          databaseUrl: url,
          database: db,
          revision: "base",
          appVersion: "bench",
          storePath: store,
          include: ["database"],
          // Keep one: the store holds at most two dumps at a time.
          retain: { days: 0, keepAtLeast: 1 },
          reason: "bench",
          volumesRoot: DEFAULT_VOLUMES_ROOT,
          keep: [],
          lockTimeoutSeconds: 60,
        });
        snapshotId = snap.snapshotId;
      }),
    );
  }
  for (let i = 0; i < reps; i++) {
    await freshDatabase(env, cleanup, target);
    out.rawRestore.push(
      (
        await run(
          "pg_restore",
          ["-j2", "--no-password", `--dbname=${dbUrl(env, target)}`, rawFile],
          { env: pgEnv },
        )
      ).ms,
    );
    await psql(env, "postgres", ["-c", `DROP DATABASE ${target} WITH (FORCE)`]);
    out.pipeRestore.push(
      await runPipe(
        ["pg_restore", ["--clean", "--if-exists", "--no-password", "--file=-", rawFile]],
        [
          "psql",
          [
            "--no-psqlrc",
            "--quiet",
            "--no-password",
            "--set=ON_ERROR_STOP=1",
            "--single-transaction",
            `--dbname=${url}`,
            "--file=-",
          ],
        ],
        pgEnv,
      ),
    );
    out.rewindRestore.push(
      await timed(() =>
        restoreSnapshot({
          databaseUrl: url,
          database: db,
          storePath: store,
          snapshotId,
          services: [],
          stackId: "",
          dockerHost: "",
          lockTimeoutSeconds: 60,
        }),
      ),
    );
  }
  return out;
}
