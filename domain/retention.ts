// Which snapshots a backup store may delete (`rewind:backup.retain`). Pure; the store deletes.
import { SnapshotManifest, byTakenAt } from "./snapshotManifest";

/** `rewind:backup.retain`. */
export interface Retention {
  /** A snapshot older than this many days may be pruned. */
  readonly days: number;
  /** The newest this many snapshots are never pruned, however old. */
  readonly keepAtLeast: number;
}

/**
 * The ids to prune: snapshots older than `retain.days` at `now`, except the newest
 * `retain.keepAtLeast` and every id in `keep` (the snapshot just taken, one pinned for restore).
 * A snapshot whose time cannot be read is kept: pruning is the one irreversible thing a backup
 * store does.
 * @returns Ids, oldest first.
 */
export function snapshotsToPrune(
  snapshots: readonly Pick<SnapshotManifest, "id" | "takenAt">[],
  retain: Retention,
  now: Date,
  keep: readonly string[] = [],
): string[] {
  const cutoff = now.getTime() - retain.days * 24 * 60 * 60 * 1000;
  const newestFirst = [...snapshots].sort(byTakenAt).reverse();
  return newestFirst
    .slice(Math.max(0, retain.keepAtLeast))
    .filter((s) => {
      const t = Date.parse(s.takenAt);
      return !Number.isNaN(t) && t < cutoff && !keep.includes(s.id);
    })
    .map((s) => s.id)
    .reverse();
}

/** How many of the newest updates' restore pins retention keeps, besides the config's. */
export const RECENT_UPDATES = 20;

/**
 * The snapshot ids retention must keep because a restore pin names them: the current config's,
 * and those of the newest `recent` updates (a rollback to one of them pins its snapshot again).
 * @param history Oldest first, as rewind history reads it.
 */
export function pinnedSnapshots(
  current: string | null | undefined,
  history: readonly { readonly pins: { readonly restoreSnapshot?: string } }[],
  recent: number = RECENT_UPDATES,
): string[] {
  const ids = [current, ...history.slice(-recent).map((e) => e.pins.restoreSnapshot)];
  return [...new Set(ids.filter((id): id is string => typeof id === "string" && id !== ""))];
}
