import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { unknownCheckingProxy } from "@pulumi/policy";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { checkRetention } from "../../policy/backupRetentionMinimum";
import { UNKNOWN, readProps } from "../../policy/resources";

const snapshot = { retain: { days: 30, keepAtLeast: 5 } };

describe("backup-retention-minimum", () => {
  test("30 days and 5 kept pass the default minimum", () => {
    assert.deepEqual(checkRetention(snapshot, {}), []);
  });

  test("exactly the minimum passes", () => {
    assert.deepEqual(checkRetention({ retain: { days: 7, keepAtLeast: 1 } }, {}), []);
  });

  test("fewer days than the default minimum of 7 are refused", () => {
    assert.deepEqual(checkRetention({ retain: { days: 6, keepAtLeast: 5 } }, {}), [
      `The BackupSnapshot's retain.days is 6; this stack keeps snapshots at least 7 days ` +
        `(rewind:backup.retain.days).`,
    ]);
  });

  test("the minimum comes from the policy config", () => {
    assert.deepEqual(checkRetention(snapshot, { minimumDays: 45 }), [
      `The BackupSnapshot's retain.days is 30; this stack keeps snapshots at least 45 days ` +
        `(rewind:backup.retain.days).`,
    ]);
  });

  test("keeping none is refused", () => {
    assert.deepEqual(checkRetention({ retain: { days: 30, keepAtLeast: 0 } }, {}), [
      `The BackupSnapshot's retain.keepAtLeast is 0; keep at least 1 so there is always a ` +
        `snapshot to restore (rewind:backup.retain.keepAtLeast).`,
    ]);
  });

  test("a missing retain is refused", () => {
    assert.deepEqual(checkRetention({}, {}), [
      `The BackupSnapshot declares no retention (retain is (none)); keep snapshots at least 7 ` +
        `days and at least 1 of them (rewind:backup.retain).`,
    ]);
  });

  test("a missing days is refused", () => {
    assert.deepEqual(checkRetention({ retain: { keepAtLeast: 5 } }, {}), [
      `The BackupSnapshot's retain.days is (none); this stack keeps snapshots at least 7 days ` +
        `(rewind:backup.retain.days).`,
    ]);
  });

  test("unknown values (preview) are not judged", () => {
    assert.deepEqual(checkRetention({ retain: UNKNOWN }, {}), []);
    assert.deepEqual(checkRetention({ retain: { days: UNKNOWN, keepAtLeast: 5 } }, {}), []);
  });

  test("an unknown nested value behind the SDK's proxy is read as unknown", () => {
    const props = readProps(
      unknownCheckingProxy({ retain: { days: unknownValue, keepAtLeast: 0 } }),
      ["retain"],
    );
    assert.deepEqual(props, { retain: { days: UNKNOWN, keepAtLeast: 0 } });
    assert.deepEqual(checkRetention(props, {}), [
      `The BackupSnapshot's retain.keepAtLeast is 0; keep at least 1 so there is always a ` +
        `snapshot to restore (rewind:backup.retain.keepAtLeast).`,
    ]);
  });
});
