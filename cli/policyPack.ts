// Which policy pack and policy config a stack is checked with. The one rule for `rewind release`,
// `rewind rollback`, `rewind plan` and the CI gate (`rewind gate`): the project's
// `policy/` (Rewind's own when the project has none), with `policy/config/<name>.json`, where
// <name> is the stack's name unless --policy-config names another.
import * as fs from "node:fs";
import * as path from "node:path";
import { UserError } from "../domain/errors";

/** The pack directory and its config file, as `--policy-pack` / `--policy-pack-config` take them. */
export interface PolicyPack {
  readonly pack: string;
  /** undefined: no config for this stack, so the pack's own levels (advisory) apply. */
  readonly config: string | undefined;
}

/** Rewind's own pack: policy/ of the package this CLI is built from (dist/cli/ → ../..). */
export const REWIND_POLICY_PACK = path.resolve(__dirname, "..", "..", "policy");

/**
 * Resolves the pack and config for `stack` of the project in `projectDir`.
 * @param policyConfig The --policy-config name; undefined means the stack's own name.
 * @throws UserError when --policy-config names a config that does not exist: a typo must not
 * quietly check a production stack with the pack's defaults.
 */
export function resolvePolicyPack(
  projectDir: string,
  stack: string,
  policyConfig?: string,
): PolicyPack {
  const own = path.join(projectDir, "policy");
  const pack = fs.existsSync(path.join(own, "PulumiPolicy.yaml")) ? own : REWIND_POLICY_PACK;
  if (policyConfig !== undefined && !/^[A-Za-z0-9_.-]+$/.test(policyConfig)) {
    throw new UserError(
      `--policy-config ${JSON.stringify(policyConfig)} is not a config name (a file name in ` +
        `${path.join(pack, "config")}, without .json)`,
    );
  }
  // A qualified name (org/project/prod) is checked with the config of its last part.
  const name = policyConfig ?? stack.split("/").at(-1) ?? stack;
  const config = path.join(pack, "config", `${name}.json`);
  if (fs.existsSync(config)) {
    return { pack, config };
  }
  if (policyConfig !== undefined) {
    const known = fs.existsSync(path.join(pack, "config"))
      ? fs
          .readdirSync(path.join(pack, "config"))
          .filter((f) => f.endsWith(".json"))
          .map((f) => f.replace(/\.json$/, ""))
      : [];
    throw new UserError(
      `--policy-config ${policyConfig}: no policy config ${config}` +
        (known.length > 0 ? ` (configs: ${known.join(", ")})` : ""),
    );
  }
  return { pack, config: undefined };
}
