// The verdict `rewind gate` repeats after the preview (cli/gate.ts).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mandatoryLines } from "../../cli/gate";

void describe("rewind gate's verdict", () => {
  test("each mandatory violation with its two lines, advisory ones left out", () => {
    const preview = [
      "Policies:",
      "    ❌ rewind@v0.1.0 (local: policy)",
      "        - [mandatory] [severity: medium]  backup-retention-minimum  (rewind:index:BackupSnapshot: shop-backup)",
      "          A BackupSnapshot must keep snapshots for at least the configured number of days.",
      "          The BackupSnapshot's retain.days is 1.",
      "        - [advisory] [severity: low]  images-pinned  (rewind:index:ImageRef: shop-app-image)",
      "          An image must be pinned.",
      "",
    ].join("\n");
    assert.equal(
      mandatoryLines(preview),
      [
        "    - [mandatory] [severity: medium]  backup-retention-minimum  (rewind:index:BackupSnapshot: shop-backup)",
        "      A BackupSnapshot must keep snapshots for at least the configured number of days.",
        "      The BackupSnapshot's retain.days is 1.",
      ].join("\n"),
    );
    assert.equal(mandatoryLines("error: the program failed\n"), "");
  });
});
