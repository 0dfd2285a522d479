// `void` before describe/test: node:test awaits them itself; no-floating-promises cannot know.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  MigrationSet,
  MigrationStep,
  buildMigrationSet,
  headRevision,
  irreversibleSteps,
  readMigrationSet,
  revisionsOf,
  stepsBetween,
} from "../../domain/migrationSet";
import { formatRevision, revisionNumber } from "../../domain/revision";

const files = [
  "0002_add_email.down.sql",
  "README.md",
  "0001_init.up.sql",
  "0003_drop_legacy.up.sql",
  ".gitkeep",
  "0002_add_email.up.sql",
  "0001_init.down.sql",
];

const init: MigrationStep = {
  revision: "0001",
  name: "init",
  up: "0001_init.up.sql",
  down: "0001_init.down.sql",
};
const addEmail: MigrationStep = {
  revision: "0002",
  name: "add_email",
  up: "0002_add_email.up.sql",
  down: "0002_add_email.down.sql",
};
const dropLegacy: MigrationStep = {
  revision: "0003",
  name: "drop_legacy",
  up: "0003_drop_legacy.up.sql",
  down: undefined,
};

describe("buildMigrationSet", () => {
  test("orders the steps by revision, pairs up and down, ignores non-.sql files", () => {
    assert.deepEqual(buildMigrationSet(files), { steps: [init, addEmail, dropLegacy] });
  });

  test("an empty directory is a set at base", () => {
    const set = buildMigrationSet(["README.md"]);
    assert.deepEqual(set, { steps: [] });
    assert.equal(headRevision(set), "base");
    assert.deepEqual(revisionsOf(set), ["base"]);
  });

  test("revisionsOf and headRevision", () => {
    const set = buildMigrationSet(files);
    assert.deepEqual(revisionsOf(set), ["base", "0001", "0002", "0003"]);
    assert.equal(headRevision(set), "0003");
  });

  test("a misnamed .sql file is refused, not skipped", () => {
    assert.throws(() => buildMigrationSet(["0001_init.up.sql", "0002-add.sql"]), {
      name: "UserError",
      message:
        "migrations: 0002-add.sql is not a migration file name; " +
        "expected NNNN_name.up.sql or NNNN_name.down.sql",
    });
    assert.throws(() => buildMigrationSet(["1_init.up.sql"]), /1_init\.up\.sql is not a migration/);
  });

  test("revision 0000 is refused", () => {
    assert.throws(() => buildMigrationSet(["0000_init.up.sql"]), {
      message: "migrations: 0000_init.up.sql has revision 0000; numbering starts at 0001",
    });
  });

  test("two up scripts for one revision are refused, naming both", () => {
    assert.throws(
      () =>
        buildMigrationSet(["0001_init.up.sql", "0002_b.up.sql", "0002_a.up.sql"], "db/migrations"),
      {
        name: "UserError",
        message: `migrations in "db/migrations": revision 0002 has 2 up scripts: 0002_a.up.sql, 0002_b.up.sql`,
      },
    );
  });

  test("two down scripts for one revision are refused", () => {
    assert.throws(
      () => buildMigrationSet(["0001_a.up.sql", "0001_a.down.sql", "0001_b.down.sql"]),
      {
        message: "migrations: revision 0001 has 2 down scripts: 0001_a.down.sql, 0001_b.down.sql",
      },
    );
  });

  test("a down without its up is refused", () => {
    assert.throws(() => buildMigrationSet(["0001_init.up.sql", "0002_add.down.sql"]), {
      message: "migrations: 0002_add.down.sql has no up script (expected 0002_add.up.sql)",
    });
  });

  test("a down whose name differs from the up is refused", () => {
    assert.throws(() => buildMigrationSet(["0001_init.up.sql", "0001_initial.down.sql"]), {
      message:
        "migrations: 0001_initial.down.sql does not match the up script 0001_init.up.sql " +
        "(the names must be the same)",
    });
  });

  test("a gap in the numbering is refused, runs of missing revisions as ranges", () => {
    assert.throws(() => buildMigrationSet(["0001_a.up.sql", "0003_c.up.sql"]), {
      message: "migrations: missing revision 0002 (numbering must run from 0001 without gaps)",
    });
    assert.throws(
      () => buildMigrationSet(["0002_b.up.sql", "0005_e.up.sql", "0007_g.up.sql"], "m"),
      {
        message:
          `migrations in "m": missing revisions 0001, 0003 to 0004, 0006 ` +
          "(numbering must run from 0001 without gaps)",
      },
    );
  });

  test("every problem is reported at once", () => {
    assert.throws(() => buildMigrationSet(["0001_a.up.sql", "x.sql", "0004_d.down.sql"]), {
      message:
        "migrations: x.sql is not a migration file name; expected NNNN_name.up.sql or " +
        "NNNN_name.down.sql; 0004_d.down.sql has no up script (expected 0004_d.up.sql); " +
        "missing revisions 0002 to 0003 (numbering must run from 0001 without gaps)",
    });
  });
});

describe("stepsBetween", () => {
  const set = buildMigrationSet(files);

  test("up runs the steps after from, up to and including to, oldest first", () => {
    assert.deepEqual(stepsBetween(set, "base", "0003"), {
      direction: "up",
      steps: [init, addEmail, dropLegacy],
    });
    assert.deepEqual(stepsBetween(set, "0001", "0002"), { direction: "up", steps: [addEmail] });
  });

  test("down runs from down to after to, newest first", () => {
    assert.deepEqual(stepsBetween(set, "0003", "0001"), {
      direction: "down",
      steps: [dropLegacy, addEmail],
    });
    assert.deepEqual(stepsBetween(set, "0002", "base"), {
      direction: "down",
      steps: [addEmail, init],
    });
  });

  test("the same revision needs nothing", () => {
    assert.deepEqual(stepsBetween(set, "0002", "0002"), { direction: "none", steps: [] });
  });

  test("an unknown revision is refused, naming the known ones", () => {
    assert.throws(() => stepsBetween(set, "0002", "0009"), {
      name: "UserError",
      message:
        `cannot migrate from 0002 to 0009: revision "0009" is unknown; ` +
        "known revisions: base, 0001, 0002, 0003",
    });
    assert.throws(() => stepsBetween(set, "head", "0000"), {
      message:
        `cannot migrate from head to 0000: revisions "head" and "0000" are unknown; ` +
        "known revisions: base, 0001, 0002, 0003",
    });
  });
});

describe("irreversibleSteps", () => {
  const set = buildMigrationSet(files);

  test("names the steps without a down script on the way down", () => {
    assert.deepEqual(irreversibleSteps(set, "0003", "base"), [dropLegacy]);
    assert.deepEqual(irreversibleSteps(set, "0003", "0002"), [dropLegacy]);
  });

  test("is empty when every step down is reversible, or for an upgrade", () => {
    assert.deepEqual(irreversibleSteps(set, "0002", "base"), []);
    assert.deepEqual(irreversibleSteps(set, "base", "0003"), []);
    assert.deepEqual(irreversibleSteps(set, "0003", "0003"), []);
  });

  test("refuses an unknown revision", () => {
    assert.throws(() => irreversibleSteps(set, "0004", "base"), /revision "0004" is unknown/);
  });
});

describe("readMigrationSet", () => {
  test("lists the directory's files, ignoring subdirectories", () => {
    const dir = mkdtempSync(join(tmpdir(), "rewind-migrations-"));
    try {
      for (const file of files) {
        writeFileSync(join(dir, file), "-- sql\n");
      }
      // A directory with a migration-like name is not a migration.
      mkdirSync(join(dir, "0004_archive.up.sql"));
      assert.deepEqual(readMigrationSet(dir), { steps: [init, addEmail, dropLegacy] });
      writeFileSync(join(dir, "0001_other.up.sql"), "");
      assert.throws(() => readMigrationSet(dir), {
        message: `migrations in ${JSON.stringify(dir)}: revision 0001 has 2 up scripts: 0001_init.up.sql, 0001_other.up.sql`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a missing directory is the user's error", () => {
    const dir = join(tmpdir(), "rewind-no-such-dir-4f1c");
    assert.throws(() => readMigrationSet(dir), {
      name: "UserError",
      message: `migrations directory ${JSON.stringify(dir)} does not exist`,
    });
  });
});

// A generated set: `reversible[i]` says whether revision i + 1 has a down script.
const migrationSet = fc.array(fc.boolean(), { maxLength: 40 }).map((reversible) => {
  const names = reversible.flatMap((down, i) => {
    const stem = `${formatRevision(i + 1)}_step${i + 1}`;
    return down ? [`${stem}.up.sql`, `${stem}.down.sql`] : [`${stem}.up.sql`];
  });
  return { names, set: buildMigrationSet(names) };
});

// Two revisions of the set, as numbers.
const setWithEnds = migrationSet.chain(({ names, set }) =>
  fc.record({
    names: fc.constant(names),
    set: fc.constant(set),
    from: fc.integer({ min: 0, max: set.steps.length }),
    to: fc.integer({ min: 0, max: set.steps.length }),
  }),
);

// Applies a path to a database at revision `at`, checking each step starts where it should.
function apply(set: MigrationSet, at: number, from: number, to: number): number {
  const path = stepsBetween(set, formatRevision(from), formatRevision(to));
  let position = at;
  for (const step of path.steps) {
    const n = revisionNumber(step.revision);
    if (path.direction === "up") {
      assert.equal(n, position + 1, `up step ${step.revision} applied at ${position}`);
      position = n;
    } else {
      assert.equal(n, position, `down step ${step.revision} applied at ${position}`);
      position = n - 1;
    }
  }
  return position;
}

describe("stepsBetween properties", () => {
  test("going up then down returns to the start, step by step", () => {
    fc.assert(
      fc.property(setWithEnds, ({ set, from, to }) => {
        const low = Math.min(from, to);
        const high = Math.max(from, to);
        assert.equal(apply(set, low, low, high), high);
        assert.equal(apply(set, high, high, low), low);
        // The way down is the way up reversed.
        assert.deepEqual(
          stepsBetween(set, formatRevision(high), formatRevision(low)).steps,
          [...stepsBetween(set, formatRevision(low), formatRevision(high)).steps].reverse(),
        );
      }),
      { numRuns: 300 },
    );
  });

  test("the number of steps is the distance, the direction its sign", () => {
    fc.assert(
      fc.property(setWithEnds, ({ set, from, to }) => {
        const path = stepsBetween(set, formatRevision(from), formatRevision(to));
        assert.equal(path.steps.length, Math.abs(to - from));
        assert.equal(path.direction, from < to ? "up" : from > to ? "down" : "none");
      }),
      { numRuns: 300 },
    );
  });

  test("irreversible steps are exactly the down path's steps without a down script", () => {
    fc.assert(
      fc.property(setWithEnds, ({ set, from, to }) => {
        const expected = set.steps.filter((s) => {
          const n = revisionNumber(s.revision);
          return from > to && n > to && n <= from && s.down === undefined;
        });
        const found = irreversibleSteps(set, formatRevision(from), formatRevision(to));
        assert.deepEqual([...found].reverse(), expected);
      }),
      { numRuns: 300 },
    );
  });

  test("the order of the directory listing does not matter", () => {
    fc.assert(
      fc.property(
        migrationSet.chain(({ names, set }) =>
          fc.record({
            set: fc.constant(set),
            shuffled: fc.shuffledSubarray(names, {
              minLength: names.length,
              maxLength: names.length,
            }),
          }),
        ),
        ({ set, shuffled }) => {
          assert.deepEqual(buildMigrationSet(shuffled), set);
        },
      ),
      { numRuns: 200 },
    );
  });
});
