// `rewind:restore`: the snapshot pinned for restore.
import { z } from "zod";
import { isSnapshotId } from "../snapshotId";
import { strictObject } from "./fields";

const SNAPSHOT_ALLOWED =
  "a snapshot id from the backup store (see rewind history), e.g. " +
  "20261126T005230Z-hunter-0001-b09dc0; to pin none, remove the key " +
  "(pulumi config rm rewind:restore.snapshot)";

/** `rewind:restore`: pin a snapshot id to restore it. */
export const restoreSchema = strictObject({
  /**
   * The snapshot to restore, or null for none.
   * @default null
   */
  snapshot: z
    .string({ error: SNAPSHOT_ALLOWED })
    // The store's own id rule, and not the word "null": that is what `pulumi config set` stores
    // when someone means "none".
    .refine((id) => isSnapshotId(id) && id !== "null", { error: SNAPSHOT_ALLOWED })
    .nullable()
    .default(null),
});

export type RestoreConfig = z.infer<typeof restoreSchema>;
