// The files the app uses (`rewind:app.mounts`): what each container binds, and the backup items
// that hold exactly those, so a snapshot and a restore cover what the app reads and writes.
// Pure; the DockerDeployment binds them, the BackupSnapshot archives them.
import * as path from "node:path";
import { BackupItem } from "./backupItem";

/** A named volume (a directory under the volumes root) or a host path, at `target`. */
export type Mount =
  | { readonly volume: string; readonly target: string; readonly readOnly?: boolean }
  | { readonly source: string; readonly target: string; readonly readOnly?: boolean };

/** Docker's `host:container[:ro]` bind of each mount; a volume lives in `<volumesRoot>/<name>`. */
export function mountBinds(mounts: readonly Mount[], volumesRoot: string): string[] {
  return mounts.map(
    (m) =>
      `${"volume" in m ? path.join(volumesRoot, m.volume) : m.source}:${m.target}` +
      (m.readOnly === true ? ":ro" : ""),
  );
}

/** The backup items of the mounts, each once: `volume:<name>` or `path:<source>`. */
export function mountItems(mounts: readonly Mount[]): BackupItem[] {
  const items = mounts.map((m): BackupItem =>
    "volume" in m ? `volume:${m.volume}` : `path:${m.source}`,
  );
  return [...new Set(items)];
}

/** `include` with the mounts' items added, each once, in the order given. */
export function withMountItems(
  include: readonly BackupItem[],
  mounts: readonly Mount[],
): BackupItem[] {
  return [...new Set([...include, ...mountItems(mounts)])];
}
