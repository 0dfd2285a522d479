// Proves the toolchain end to end on the real engine: the CLI built from pinned
// Go modules, our Node.js language host, the dynamic-provider launcher, stack
// history with config, and a policy pack run through the policy launcher (#2).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot, withStack } from "./workspace";

const project = path.join(repoRoot, "test", "fixtures", "toolchain");
const policyPack = path.join(repoRoot, "test", "fixtures", "toolchain-policy");

test("pulumi up, a second up with changed config, history, and a policy gate", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-toolchain-"));
  const notePath = path.join(dir, "note.txt");
  try {
    await withStack(project, "toolchain", async (stack) => {
      await stack.setAllConfig({
        "rewind-toolchain:path": { value: notePath },
        "rewind-toolchain:greeting": { value: "hello" },
      });
      const first = await stack.up({ onOutput: () => undefined });
      assert.equal(first.summary.result, "succeeded");
      assert.equal(first.outputs.text.value, "hello");
      assert.equal(fs.readFileSync(notePath, "utf8"), "hello");
      assert.equal(fs.statSync(notePath).mode & 0o777, 0o600);

      await stack.setConfig("rewind-toolchain:greeting", { value: "hello again" });
      const second = await stack.up({ onOutput: () => undefined });
      assert.equal(second.summary.resourceChanges?.update, 1);
      assert.equal(fs.readFileSync(notePath, "utf8"), "hello again");

      const history = await stack.history();
      assert.equal(history.length, 2);
      // Newest first; each record carries the config its update ran with.
      assert.deepEqual(
        history.map((u) => [u.kind, u.result, u.config["rewind-toolchain:greeting"]?.value]),
        [
          ["update", "succeeded", "hello again"],
          ["update", "succeeded", "hello"],
        ],
      );

      await stack.setConfig("rewind-toolchain:greeting", { value: "HELLO" });
      let stdout = "";
      await assert.rejects(
        stack.preview({ policyPacks: [policyPack], onOutput: (s) => (stdout += s) }),
        (err: Error) =>
          // Return a boolean so a mismatch reports this check, not a page of CLI output.
          /no-shouting/.test(err.message + stdout) &&
          /note text "HELLO" is in capital letters/.test(err.message + stdout),
      );
      // The refused change never reached the file.
      assert.equal(fs.readFileSync(notePath, "utf8"), "hello again");
    });
    assert.equal(fs.existsSync(notePath), false, "destroy removed the note");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
