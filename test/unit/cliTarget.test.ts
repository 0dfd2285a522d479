// The rollback target: --to-update N, --to-version V (an all-digit version reachable), and --to
// only when it names one update.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { toEntries } from "../../domain/pins";
import { UsageError } from "../../cli/options";
import { resolveTarget } from "../../cli/stackHistory";
import { targetOption } from "../../cli/target";
import { historyOf } from "./cliFixtures";

// Update 2 ran app version "3" (a team that numbers its builds); update 3 ran "1.1.0".
const entries = toEntries(
  historyOf([
    { version: "1.0.0", revision: "0001", at: 0 },
    { version: "3", revision: "0001", at: 600 },
    { version: "1.1.0", revision: "0002", at: 1200 },
    { version: "1.2.0-bad", revision: "0002", at: 1800, result: "failed" },
  ]),
);

describe("resolveTarget", () => {
  test("--to-update takes the number, --to-version the newest update that ran the version", () => {
    assert.equal(resolveTarget(entries, { by: "update", value: "3" }).number, 3);
    assert.equal(resolveTarget(entries, { by: "version", value: "3" }).number, 2);
    assert.equal(resolveTarget(entries, { by: "version", value: "1.0.0" }).number, 1);
  });

  test("--to is refused when the number is both an update and a version", () => {
    assert.throws(() => resolveTarget(entries, { by: "either", value: "3" }), {
      message:
        '--to 3 is ambiguous: update 3 (app 1.1.0) and app version "3" (update 2); ' +
        "use --to-update 3 or --to-version 3",
    });
  });

  test("--to takes what it names when it names one thing", () => {
    assert.equal(resolveTarget(entries, { by: "either", value: "1" }).number, 1);
    assert.equal(resolveTarget(entries, { by: "either", value: "1.1.0" }).number, 3);
  });

  test("each option's errors name the option", () => {
    assert.throws(() => resolveTarget(entries, { by: "update", value: "1.0.0" }), {
      message: "--to-update 1.0.0: an update number is all digits (see rewind history)",
    });
    assert.throws(() => resolveTarget(entries, { by: "update", value: "4" }), {
      message:
        "--to-update 4: update 4 is failed; only a succeeded update's config can be pinned " +
        "again; recent succeeded updates: 1 (app 1.0.0), 2 (app 3), 3 (app 1.1.0)",
    });
    assert.throws(() => resolveTarget(entries, { by: "version", value: "9" }), {
      message:
        '--to-version 9: no succeeded update ran app version "9"; versions that did: 1.0.0, 3, 1.1.0',
    });
  });
});

describe("targetOption", () => {
  test("exactly one of --to-update, --to-version, --to-time, --to", () => {
    assert.deepEqual(targetOption({ "to-update": "7" }), { by: "update", value: "7" });
    assert.deepEqual(targetOption({ "to-version": "2" }), { by: "version", value: "2" });
    assert.deepEqual(targetOption({ to: "1.0.0" }), { by: "either", value: "1.0.0" });
    assert.deepEqual(targetOption({ "to-time": "2026-11-30T23:57" }), {
      by: "time",
      value: "2026-11-30T23:57",
    });
    assert.throws(
      () => targetOption({ "to-update": "7", "to-version": "2" }),
      (e: Error) =>
        e instanceof UsageError &&
        e.message ===
          "give one of --to-update, --to-version, --to-time and --to, not --to-update 7 and " +
            "--to-version 2",
    );
    // A time that is not one is bad input before any stack is opened.
    assert.throws(
      () => targetOption({ "to-time": "yesterday" }),
      /--to-time "yesterday": not a time/,
    );
    assert.throws(() => targetOption({}), UsageError);
  });
});
