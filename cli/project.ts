// Which project a `rewind` command acts on, and what its `pulumi` runs with. A team installs
// Rewind into its own repository (`rewind init`); from that folder every command finds the
// team's Pulumi.yaml, and the state a stack leaves on the host goes under the team's .rewind/.
import * as fs from "node:fs";
import * as path from "node:path";
import { STATE_DIR } from "../domain/projectTemplate";
import { CliIo } from "./options";

/** The Rewind package this CLI is built from (dist/cli/ → ../..). */
export const PACKAGE_ROOT = path.resolve(__dirname, "..", "..");

/**
 * The project: $REWIND_PROJECT_DIR, else the nearest folder from `cwd` up that holds a
 * Pulumi.yaml (a team's repository, or Rewind's own checkout), else Rewind's own checkout.
 */
export function projectDir(env: CliIo["env"], cwd: string = process.cwd()): string {
  if (env.REWIND_PROJECT_DIR) {
    return path.resolve(env.REWIND_PROJECT_DIR);
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
      return dir;
    }
    if (path.dirname(dir) === dir) {
      return PACKAGE_ROOT;
    }
  }
}

/**
 * What `pulumi` runs with for the project in `dir`, added to the environment:
 * - the front door's state (HAProxy's config and admin socket) in the project's .rewind/proxy
 *   (unless REWIND_PROXY_DIR says where),
 *   so a team's stack never writes into the Rewind package;
 * - this package's plugin launchers first on PATH, so the stack is served by the provider of
 *   the same Rewind build as its program.
 */
export function projectEnvironment(
  dir: string,
  env: CliIo["env"],
  packageRoot: string = PACKAGE_ROOT,
): Record<string, string> {
  const launchers = path.join(packageRoot, "scripts", "launchers");
  const entries = (env.PATH ?? "").split(path.delimiter).filter((p) => p !== "");
  return {
    REWIND_PROXY_DIR: env.REWIND_PROXY_DIR || path.join(dir, STATE_DIR, "proxy"),
    PATH: [launchers, ...entries.filter((p) => p !== launchers)].join(path.delimiter),
  };
}
