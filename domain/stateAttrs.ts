// The file backend's attribute files (`<blob>.attrs`, gocloud's fileblob) and the one fault a
// killed `pulumi` leaves in them: fileblob truncates `<blob>.attrs` before it writes the new
// JSON, so a SIGKILL in between leaves it empty (or cut short), and every `pulumi` that reads
// that blob then says only `error: EOF`. The blob itself is whole (written aside, then renamed);
// without its `.attrs` file fileblob falls back to defaults, so removing a broken one repairs
// the state. Pure: the files are read by cli/stackRecovery.ts.

/** How long a write of an `.attrs` file may take: younger ones may be mid-write. */
export const ATTRS_SETTLE_MS = 2_000;

/** One `.attrs` file as read. */
export interface AttrsFile {
  /** Absolute path. */
  readonly file: string;
  readonly text: string;
  /** Milliseconds since it was last written. */
  readonly ageMs: number;
}

export interface AttrsJudgement {
  /** Broken and old enough that no writer is still at it: to be removed. */
  readonly broken: readonly string[];
  /** Broken but young: to be read again once `ATTRS_SETTLE_MS` old. */
  readonly recheck: readonly { readonly file: string; readonly inMs: number }[];
}

/**
 * Whether an `.attrs` file (its path under `<backend>/.pulumi`, with `/`) is one a command on
 * `stack` of `project` reads: meta.yaml's, the stack's checkpoint, history, backups and locks
 * (the diy backend's project layout); with no stack yet, every checkpoint of the project
 * (`pulumi stack ls` reads them all to find the selected one). Another stack's broken file in a
 * shared backend is its own: it refuses no one else.
 */
export function attrsInScope(
  relative: string,
  project: string,
  stack: string | undefined,
): boolean {
  if (relative === "meta.yaml.attrs") {
    return true;
  }
  const parts = relative.split("/");
  if (stack === undefined) {
    return parts.length === 3 && parts[0] === "stacks" && parts[1] === project;
  }
  const short = stack.split("/").at(-1) ?? stack;
  switch (parts[0]) {
    case "stacks":
      return parts.length === 3 && parts[1] === project && parts[2].startsWith(`${short}.json`);
    case "history":
    case "backups":
      return parts.length >= 4 && parts[1] === project && parts[2] === short;
    case "locks":
      return parts.length >= 5 && parts[2] === project && parts[3] === short;
    default:
      return false;
  }
}

/** Whether fileblob can decode the text: one JSON object. */
function readable(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** Which files are broken, and which to look at again because they may be mid-write. */
export function judgeAttrsFiles(
  files: readonly AttrsFile[],
  settleMs: number = ATTRS_SETTLE_MS,
): AttrsJudgement {
  const broken: string[] = [];
  const recheck: { file: string; inMs: number }[] = [];
  for (const f of files) {
    if (readable(f.text)) continue;
    if (f.ageMs >= settleMs) {
      broken.push(f.file);
    } else {
      recheck.push({ file: f.file, inMs: settleMs - f.ageMs });
    }
  }
  return { broken: broken.sort(), recheck };
}

/**
 * Why a command refuses to open a stack whose state has broken `.attrs` files, and the fix.
 * `stack` is the one asked for (--stack / REWIND_STACK), if any.
 */
export function brokenStateRefusal(
  backendDir: string,
  files: readonly string[],
  stack: string | undefined,
): string {
  const some = files.length === 1 ? "1 attribute file is" : `${files.length} attribute files are`;
  return (
    `the Pulumi state in ${backendDir} is damaged: ${some} empty or cut short, as a pulumi ` +
    `killed while writing it leaves them (every pulumi command then says only "error: EOF"): ` +
    `${files.join(", ")}. Nothing was changed; run rewind recover` +
    `${stack === undefined ? "" : ` --stack ${stack}`}: it removes them (the state files they ` +
    `describe are whole), then run this command again`
  );
}
