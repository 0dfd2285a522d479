// `void` before describe/test: node:test awaits them itself; no-floating-promises cannot know.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { InternalError, UserError } from "../../domain/errors";
import {
  BASE,
  compareInOrder,
  compareRevisions,
  formatRevision,
  isRevision,
  knownRevisions,
  nextRevision,
  previousRevision,
  revisionNumber,
  revisionPosition,
} from "../../domain/revision";

// Any numbered revision, "base" included often enough to matter.
const revision = fc.oneof(
  fc.constant(BASE),
  fc.integer({ min: 1, max: 9999 }).map((n) => String(n).padStart(4, "0")),
);

// Alembic-like histories: unique opaque ids whose order is only the list's.
const history = fc.uniqueArray(fc.stringMatching(/^[0-9a-f]{12}$/), { maxLength: 30 });

describe("isRevision", () => {
  test("accepts base and four digits from 0001", () => {
    for (const value of ["base", "0001", "0042", "9999"]) {
      assert.equal(isRevision(value), true, value);
    }
  });

  test("refuses 0000, other widths, other words and non-strings", () => {
    for (const value of ["0000", "1", "001", "00001", "BASE", "head", " 0001", "0001 ", 1, null]) {
      assert.equal(isRevision(value), false, String(value));
    }
  });
});

describe("revisionNumber and formatRevision", () => {
  test("base is 0 and digits are their number", () => {
    assert.equal(revisionNumber("base"), 0);
    assert.equal(revisionNumber("0007"), 7);
    assert.equal(revisionNumber("1200"), 1200);
    assert.equal(formatRevision(0), "base");
    assert.equal(formatRevision(7), "0007");
    assert.equal(formatRevision(9999), "9999");
  });

  test("a non-revision is an internal error naming the format", () => {
    assert.throws(() => revisionNumber("ae1027a6acf"), {
      name: "InternalError",
      message: `not a revision: "ae1027a6acf"; expected "base" or four digits from "0001" to "9999"`,
    });
    assert.throws(() => formatRevision(10000), {
      name: "InternalError",
      message: "no revision has number 10000; numbers run from 0 (base) to 9999",
    });
    assert.throws(() => formatRevision(1.5), InternalError);
    assert.throws(() => formatRevision(-1), InternalError);
  });

  test("format and number are inverse", () => {
    fc.assert(
      fc.property(revision, (r) => formatRevision(revisionNumber(r)) === r),
      { numRuns: 500 },
    );
  });
});

describe("compareRevisions", () => {
  test("base < 0001 < 0002 < 0010, by number not by text", () => {
    assert.equal(compareRevisions("base", "0001"), -1);
    assert.equal(compareRevisions("0001", "0002"), -1);
    assert.equal(compareRevisions("0010", "0002"), 1);
    assert.equal(compareRevisions("0002", "0002"), 0);
    assert.equal(compareRevisions("base", "base"), 0);
    assert.equal(compareRevisions("9999", "base"), 1);
  });

  test("sorting by it puts base first and the rest in numeric order", () => {
    const sorted = ["0010", "base", "0002", "0100", "0001"].sort(compareRevisions);
    assert.deepEqual(sorted, ["base", "0001", "0002", "0010", "0100"]);
  });

  test("antisymmetry: compare(a, b) = -compare(b, a), and 0 only for the same revision", () => {
    fc.assert(
      fc.property(revision, revision, (a, b) => {
        assert.equal(compareRevisions(a, b), -compareRevisions(b, a) || 0);
        assert.equal(compareRevisions(a, b) === 0, a === b);
      }),
      { numRuns: 1000 },
    );
  });

  test("transitivity: a ≤ b and b ≤ c imply a ≤ c", () => {
    fc.assert(
      fc.property(revision, revision, revision, (a, b, c) => {
        fc.pre(compareRevisions(a, b) <= 0 && compareRevisions(b, c) <= 0);
        assert.ok(compareRevisions(a, c) <= 0, `${a} ≤ ${b} ≤ ${c}`);
      }),
      { numRuns: 1000 },
    );
  });

  test("agrees with the numeric order", () => {
    fc.assert(
      fc.property(revision, revision, (a, b) => {
        assert.equal(compareRevisions(a, b), Math.sign(revisionNumber(a) - revisionNumber(b)) || 0);
      }),
    );
  });

  test("refuses opaque ids: they need an ordered history", () => {
    assert.throws(() => compareRevisions("ae1027a6acf", "base"), InternalError);
  });
});

describe("ordered histories", () => {
  const order = ["ae1027a6acf", "1975ea83b712", "27c6a30d7c24"];

  test("knownRevisions puts base first, whether the history names it or not", () => {
    assert.deepEqual(knownRevisions(order), ["base", ...order]);
    assert.deepEqual(knownRevisions(["base", ...order]), ["base", ...order]);
    assert.deepEqual(knownRevisions([]), ["base"]);
  });

  test("a history that repeats a revision is an internal error", () => {
    assert.throws(() => knownRevisions(["a1", "b2", "a1"]), {
      name: "InternalError",
      message: `revision history lists "a1" twice: a1, b2, a1`,
    });
    assert.throws(() => knownRevisions(["a1", "base"]), InternalError);
  });

  test("positions count from base = 0", () => {
    assert.equal(revisionPosition(order, "base"), 0);
    assert.equal(revisionPosition(order, "ae1027a6acf"), 1);
    assert.equal(revisionPosition(order, "27c6a30d7c24"), 3);
  });

  test("compareInOrder follows the history, not the text of the ids", () => {
    assert.equal(compareInOrder(order, "ae1027a6acf", "1975ea83b712"), -1);
    assert.equal(compareInOrder(order, "27c6a30d7c24", "base"), 1);
    assert.equal(compareInOrder(order, "1975ea83b712", "1975ea83b712"), 0);
  });

  test("an unknown revision is the user's error and names the known ones", () => {
    assert.throws(() => compareInOrder(order, "base", "deadbeef"), {
      name: "UserError",
      message: `unknown revision "deadbeef"; known revisions: base, ae1027a6acf, 1975ea83b712, 27c6a30d7c24`,
    });
    assert.throws(() => nextRevision(order, "0001"), UserError);
    assert.throws(() => previousRevision([], "0001"), UserError);
  });

  test("next and previous walk the history and stop at its ends", () => {
    assert.equal(nextRevision(order, "base"), "ae1027a6acf");
    assert.equal(nextRevision(order, "ae1027a6acf"), "1975ea83b712");
    assert.equal(nextRevision(order, "27c6a30d7c24"), undefined);
    assert.equal(previousRevision(order, "ae1027a6acf"), "base");
    assert.equal(previousRevision(order, "27c6a30d7c24"), "1975ea83b712");
    assert.equal(previousRevision(order, "base"), undefined);
    assert.equal(nextRevision([], "base"), undefined);
  });

  test("next undoes previous and previous undoes next", () => {
    fc.assert(
      fc.property(history, fc.nat(), (ids, i) => {
        const known = knownRevisions(ids);
        const r = known[i % known.length];
        const before = previousRevision(ids, r);
        const after = nextRevision(ids, r);
        assert.equal(before === undefined ? r === BASE : nextRevision(ids, before) === r, true);
        assert.equal(
          after === undefined ? r === known.at(-1) : previousRevision(ids, after) === r,
          true,
        );
      }),
    );
  });

  test("compareInOrder is antisymmetric and transitive", () => {
    fc.assert(
      fc.property(history, fc.nat(), fc.nat(), fc.nat(), (ids, i, j, k) => {
        const known = knownRevisions(ids);
        const [a, b, c] = [i, j, k].map((n) => known[n % known.length]);
        assert.equal(compareInOrder(ids, a, b), -compareInOrder(ids, b, a) || 0);
        assert.equal(compareInOrder(ids, a, b) === 0, a === b);
        if (compareInOrder(ids, a, b) <= 0 && compareInOrder(ids, b, c) <= 0) {
          assert.ok(compareInOrder(ids, a, c) <= 0);
        }
      }),
    );
  });
});
