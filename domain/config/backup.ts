// `rewind:backup`: where snapshots are written, what they hold, and how long they are kept.
import { z } from "zod";
import { BACKUP_ITEM_ALLOWED, BackupItem, isBackupItem } from "../backupItem";
import { SCHEDULE_ALLOWED, readSchedule } from "../backupSchedule";
import { afterFields, boolean, integer, matching, nonEmpty, strictObject } from "./fields";

/** Where snapshots are written. Only a filesystem store for now; `kind` leaves room for more. */
export const backupStoreSchema = z.discriminatedUnion(
  "kind",
  [
    strictObject({
      kind: z.literal("fs"),
      /** Directory holding the snapshots and their manifests. */
      path: nonEmpty("a directory"),
    }),
  ],
  {
    error: (issue) => (issue.code === "invalid_union" ? `"fs"` : `an object with kind "fs"`),
  },
);

/** The store when none is declared: the project's own .rewind/backups (git-ignored). */
export const DEFAULT_BACKUP_STORE = { kind: "fs", path: ".rewind/backups" } as const;

/** `rewind:backup`: snapshots taken before migrations and on a schedule, and their retention. */
export const backupSchema = strictObject({
  /**
   * Where snapshots go; a relative path is the project's (where Pulumi.yaml is).
   * @default { kind: "fs", path: ".rewind/backups" }
   */
  store: backupStoreSchema.prefault(DEFAULT_BACKUP_STORE),
  /**
   * Take a snapshot before any migration that changes the revision (policy requires it in
   * production).
   * @default true
   */
  beforeMigration: boolean().default(true),
  /**
   * Where `volume:<name>` items and `rewind:app.mounts` volumes live on the host.
   * @default "/var/lib/rewind/volumes"
   */
  volumesRoot: matching(/^\/\S*$/, "an absolute directory on the host").optional(),
  /**
   * What a snapshot holds.
   * @default ["database"]
   */
  include: z
    .array(z.custom<BackupItem>(isBackupItem, { error: BACKUP_ITEM_ALLOWED }), {
      error: `a list of ${BACKUP_ITEM_ALLOWED}`,
    })
    .default(["database"]),
  /**
   * Retention: a snapshot is pruned once older than `days`, but the newest `keepAtLeast` are
   * always kept, so a quiet month never leaves a stack with nothing to restore.
   * @default { days: 30, keepAtLeast: 5 }
   */
  retain: strictObject({
    /** @default 30 */
    days: integer("an integer number of days, at least 0", 0).default(30),
    /** @default 5 */
    keepAtLeast: integer("an integer of at least 1", 1).default(5),
  }).prefault({}),
  /**
   * When `rewind backup` runs besides the pre-migration snapshots, in UTC: "hourly[ at :MM]",
   * "daily at HH:MM" or "weekly on <Mon..Sun> at HH:MM". `rewind backup --print-timer` prints
   * the systemd timer and cron line; nothing runs it by itself.
   */
  schedule: z
    .string({ error: SCHEDULE_ALLOWED })
    .refine((s) => readSchedule(s) !== undefined, { error: SCHEDULE_ALLOWED })
    .optional(),
}).superRefine((backup, ctx) => {
  const seen = new Set<string>();
  backup.include.forEach((item, i) => {
    if (seen.has(item)) {
      ctx.addIssue({
        code: "custom",
        path: ["include", i],
        message: `an item not already listed (${JSON.stringify(item)} is)`,
      });
    }
    seen.add(item);
  });
  // A pre-migration snapshot without the database cannot undo the migration it guards.
  if (backup.beforeMigration && !seen.has("database")) {
    ctx.addIssue({
      code: "custom",
      path: ["include"],
      message: `a list containing "database" while beforeMigration is true`,
    });
  }
}, afterFields);

export type BackupStoreConfig = z.infer<typeof backupStoreSchema>;
export type BackupConfig = z.infer<typeof backupSchema>;
