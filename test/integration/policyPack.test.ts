// The policy pack on the real engine: a preview that gates a release passes with the production
// config, a migration without a backup is refused before anything runs, and the stack check of
// the dependency graph runs after `pulumi up` on the resources' real outputs.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { repoRoot, withStack } from "./workspace";

const project = path.join(repoRoot, "test", "fixtures", "policy-stack");
const policyPacks = [path.join(repoRoot, "policy")];
const policyPackConfigs = [path.join(repoRoot, "policy", "config", "prod.json")];
// The engine takes the first `pulumi-resource-rewind` on the PATH: the fixture's stand-in.
process.env.PATH = `${path.join(project, "bin")}${path.delimiter}${process.env.PATH}`;

// The CLI's output is in the rejection and in onOutput; a boolean keeps a mismatch readable.
function refused(policy: string, message: string, output: () => string) {
  return (err: Error): boolean => {
    const text = err.message + output();
    return text.includes(`[mandatory]`) && text.includes(policy) && text.includes(message);
  };
}

test("policy pack: a gated preview, a migration without a backup, an unverified snapshot", async () => {
  await withStack(project, "policy", async (stack) => {
    let out = "";
    const onOutput = (s: string): void => {
      out += s;
    };

    // Production config, everything wired: the snapshot's id and the image's digest are still
    // unknown in this preview, and an unknown must not count as a violation.
    const good = await stack.preview({ policyPacks, policyPackConfigs, onOutput });
    assert.equal(good.changeSummary.create, 6);
    assert.match(out, /✅ rewind@v0\.1\.0/);
    assert.doesNotMatch(out, /can't run policy/);

    out = "";
    await stack.setConfig("rewind-policy-stack:snapshot", { value: "none" });
    await assert.rejects(
      stack.preview({ policyPacks, onOutput }),
      refused(
        "migration-requires-backup",
        `The Migration takes database "hunter" from "0001" to "0002" but names no snapshotId; ` +
          `take a BackupSnapshot of "hunter" at "0001" first and pass its snapshotId.`,
        () => out,
      ),
    );

    // Known values now: the input check and the graph check both see the real snapshot.
    await stack.setConfig("rewind-policy-stack:snapshot", { value: "output" });
    const up = await stack.up({ policyPacks, policyPackConfigs, onOutput: () => undefined });
    assert.equal(up.summary.result, "succeeded");

    out = "";
    await stack.setConfig("rewind-policy-stack:verified", { value: "false" });
    await assert.rejects(
      stack.up({ policyPacks, policyPackConfigs, onOutput }),
      refused(
        "migration-requires-backup",
        `BackupSnapshot "backup" (snapshot "snap-fixture") that Migration "migration" depends ` +
          `on is not verified (verified is false).`,
        () => out,
      ),
    );
  });
});
