import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compareIn, listedStepsDown, revisionOrdering } from "../../domain/revisionOrder";
import { Pins } from "../../domain/pins";

// An Alembic history, oldest first: the ids' text says nothing about their order.
const ids = ["ae1027a6acf", "27c6a30d7c24", "1975ea83b712"];
const older = ids.slice(0, 2);
const alembic = (revisions: readonly string[] | undefined): Pins => ({
  migrationsTool: "alembic",
  migrationsRevisions: revisions,
});
const sql: Pins = { migrationsTool: "sql", migrationsDir: "migrations" };

function ordering(from: string, to: string, target: Pins, current?: Pins) {
  return revisionOrdering({
    from,
    to,
    target,
    targetName: "update 2",
    current,
    currentName: "the current config",
  });
}

describe("revisionOrdering", () => {
  test("numbered sql revisions are ordered by number", () => {
    assert.deepEqual(ordering("0003", "0001", sql), { kind: "numbered" });
  });

  test("alembic ids are ordered by the target config's list", () => {
    assert.deepEqual(ordering("1975ea83b712", "ae1027a6acf", alembic(ids), alembic(older)), {
      kind: "listed",
      order: ids,
      source: "target",
    });
    assert.deepEqual(ordering("base", "27c6a30d7c24", alembic(older)), {
      kind: "listed",
      order: older,
      source: "target",
    });
  });

  test("the current config's list when the target's lacks a revision", () => {
    assert.deepEqual(ordering("1975ea83b712", "27c6a30d7c24", alembic(older), alembic(ids)), {
      kind: "listed",
      order: ids,
      source: "current",
    });
  });

  test("a revision no list has is refused, naming it and the lists", () => {
    assert.deepEqual(ordering("deadbeef", "27c6a30d7c24", alembic(older), alembic(ids)), {
      kind: "refused",
      reason:
        'update 2\'s rewind:database.migrations.revisions (ae1027a6acf, 27c6a30d7c24) lacks "deadbeef", ' +
        "and the current config's rewind:database.migrations.revisions " +
        '(ae1027a6acf, 27c6a30d7c24, 1975ea83b712) lacks "deadbeef": ' +
        "the program orders Alembic revisions by that list only and would refuse the pin; " +
        "list every revision id there, oldest first",
    });
    assert.deepEqual(ordering("1975ea83b712", "base", alembic(undefined)), {
      kind: "refused",
      reason:
        "update 2 has no rewind:database.migrations.revisions: the program orders Alembic " +
        "revisions by that list only and would refuse the pin; list every revision id there, " +
        "oldest first",
    });
  });

  test("a hex id under the sql tool is refused", () => {
    assert.deepEqual(ordering("ae1027a6acf", "0001", sql), {
      kind: "refused",
      reason:
        '"ae1027a6acf" is not a numbered revision and update 2 pins the sql tool, whose ' +
        "revisions are numbered; only the alembic tool orders ids by " +
        "rewind:database.migrations.revisions",
    });
  });
});

describe("compareIn", () => {
  test("follows the list, not the text of the ids", () => {
    const listed = { kind: "listed", order: ids, source: "target" } as const;
    assert.equal(compareIn(listed, "1975ea83b712", "ae1027a6acf"), 1);
    assert.equal(compareIn(listed, "base", "1975ea83b712"), -1);
    assert.equal(compareIn(listed, "27c6a30d7c24", "27c6a30d7c24"), 0);
    assert.equal(compareIn({ kind: "numbered" }, "0002", "base"), 1);
  });
});

describe("listedStepsDown", () => {
  test("the revisions a downgrade undoes, newest first; the target stays applied", () => {
    assert.deepEqual(listedStepsDown(ids, "1975ea83b712", "ae1027a6acf"), [
      "1975ea83b712",
      "27c6a30d7c24",
    ]);
    assert.deepEqual(listedStepsDown(ids, "27c6a30d7c24", "base"), ["27c6a30d7c24", "ae1027a6acf"]);
    assert.deepEqual(listedStepsDown(ids, "ae1027a6acf", "1975ea83b712"), []);
    assert.deepEqual(listedStepsDown(ids, "base", "base"), []);
  });
});
