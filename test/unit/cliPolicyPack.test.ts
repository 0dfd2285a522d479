// The policy pack and config a stack is checked with: one rule for rewind and the CI gate.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { REWIND_POLICY_PACK, resolvePolicyPack } from "../../cli/policyPack";
import { UserError } from "../../domain/errors";

describe("resolvePolicyPack", () => {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-policy-"));
  const own = path.join(project, "policy");

  test("a project without a pack uses Rewind's own, with the stack's config if there is one", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-policy-"));
    assert.deepEqual(resolvePolicyPack(empty, "prod"), {
      pack: REWIND_POLICY_PACK,
      config: path.join(REWIND_POLICY_PACK, "config", "prod.json"),
    });
    assert.deepEqual(resolvePolicyPack(empty, "dev"), {
      pack: REWIND_POLICY_PACK,
      config: undefined,
    });
  });

  test("the project's pack, the config of the stack's name or of --policy-config", () => {
    fs.mkdirSync(path.join(own, "config"), { recursive: true });
    fs.writeFileSync(path.join(own, "PulumiPolicy.yaml"), "runtime: nodejs\n");
    fs.writeFileSync(path.join(own, "config", "prod.json"), "{}\n");
    assert.deepEqual(resolvePolicyPack(project, "org/hunter/prod"), {
      pack: own,
      config: path.join(own, "config", "prod.json"),
    });
    assert.deepEqual(resolvePolicyPack(project, "prod-eu", "prod"), {
      pack: own,
      config: path.join(own, "config", "prod.json"),
    });
  });

  test("a --policy-config that does not exist is bad input, naming what does", () => {
    assert.throws(
      () => resolvePolicyPack(project, "prod-eu", "prdo"),
      (e: Error) =>
        e instanceof UserError &&
        e.message ===
          `--policy-config prdo: no policy config ${path.join(own, "config", "prdo.json")} (configs: prod)`,
    );
    assert.throws(() => resolvePolicyPack(project, "prod", "../prod"), UserError);
  });
});
