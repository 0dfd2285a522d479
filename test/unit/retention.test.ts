// Retention: which snapshots a store may prune (domain/retention.ts), with fast-check properties.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { RECENT_UPDATES, pinnedSnapshots, snapshotsToPrune } from "../../domain/retention";

const DAY = 24 * 60 * 60 * 1000;
const now = new Date("2025-03-31T12:00:00Z");
const daysAgo = (d: number) => new Date(now.getTime() - d * DAY).toISOString();
const snap = (id: string, age: number) => ({ id, takenAt: daysAgo(age) });

void describe("snapshotsToPrune", () => {
  test("prunes what is older than days, oldest first", () => {
    const snapshots = [snap("a", 40), snap("b", 35), snap("c", 10), snap("d", 1)];
    assert.deepEqual(snapshotsToPrune(snapshots, { days: 30, keepAtLeast: 1 }, now), ["a", "b"]);
  });

  test("keeps the newest keepAtLeast however old they are", () => {
    const snapshots = [snap("a", 90), snap("b", 80), snap("c", 70)];
    assert.deepEqual(snapshotsToPrune(snapshots, { days: 30, keepAtLeast: 2 }, now), ["a"]);
    assert.deepEqual(snapshotsToPrune(snapshots, { days: 30, keepAtLeast: 5 }, now), []);
  });

  test("never prunes a kept id (the new snapshot, a pinned restore)", () => {
    const snapshots = [snap("a", 90), snap("b", 80), snap("c", 70)];
    assert.deepEqual(snapshotsToPrune(snapshots, { days: 30, keepAtLeast: 1 }, now, ["a"]), ["b"]);
  });

  test("keeps a snapshot whose time cannot be read", () => {
    const snapshots = [{ id: "x", takenAt: "yesterday" }, snap("a", 90), snap("b", 1)];
    assert.deepEqual(snapshotsToPrune(snapshots, { days: 30, keepAtLeast: 1 }, now), ["a"]);
  });

  test("days 0 prunes everything but the newest keepAtLeast", () => {
    const snapshots = [snap("a", 0.5), snap("b", 0.2), snap("c", 0.1)];
    assert.deepEqual(snapshotsToPrune(snapshots, { days: 0, keepAtLeast: 1 }, now), ["a", "b"]);
  });

  const arbitrarySnapshots = fc.uniqueArray(
    fc.record({
      id: fc.stringMatching(/^[a-z0-9]{1,6}$/),
      age: fc.double({ min: 0, max: 400, noNaN: true }),
    }),
    { selector: (s) => s.id, maxLength: 30 },
  );

  test("property: never prunes below keepAtLeast, never a kept id, never a young one", () => {
    fc.assert(
      fc.property(
        arbitrarySnapshots,
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 10 }),
        fc.func(fc.boolean()),
        (raw, days, keepAtLeast, isKept) => {
          const snapshots = raw.map((s) => snap(s.id, s.age));
          const keep = raw.filter((s) => isKept(s.id)).map((s) => s.id);
          const pruned = snapshotsToPrune(snapshots, { days, keepAtLeast }, now, keep);
          assert.ok(snapshots.length - pruned.length >= Math.min(keepAtLeast, snapshots.length));
          assert.ok(pruned.every((id) => !keep.includes(id)));
          const byId = new Map(snapshots.map((s) => [s.id, s]));
          assert.ok(
            pruned.every((id) => Date.parse(byId.get(id)!.takenAt) < now.getTime() - days * DAY),
          );
          assert.equal(new Set(pruned).size, pruned.length);
        },
      ),
    );
  });

  test("property: the newest keepAtLeast are never pruned", () => {
    fc.assert(
      fc.property(arbitrarySnapshots, fc.integer({ min: 1, max: 10 }), (raw, keepAtLeast) => {
        const snapshots = raw.map((s) => snap(s.id, s.age));
        const pruned = snapshotsToPrune(snapshots, { days: 0, keepAtLeast }, now);
        const newest = [...snapshots]
          .sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt) || (a.id < b.id ? 1 : -1))
          .slice(0, keepAtLeast)
          .map((s) => s.id);
        assert.ok(newest.every((id) => !pruned.includes(id)));
      }),
    );
  });
});

void describe("pinnedSnapshots: what a restore pin names is never pruned (issue 11)", () => {
  const entry = (restoreSnapshot?: string) => ({ pins: { restoreSnapshot } });

  test("the config's pin and the recent updates' pins, each once", () => {
    assert.deepEqual(
      pinnedSnapshots("snap-c", [entry("snap-a"), entry(), entry("snap-b"), entry("snap-a")]),
      ["snap-c", "snap-a", "snap-b"],
    );
  });

  test("only the newest `recent` updates count", () => {
    const history = [entry("old"), ...Array.from({ length: RECENT_UPDATES }, () => entry())];
    assert.deepEqual(pinnedSnapshots(null, history), []);
    assert.deepEqual(pinnedSnapshots(null, history, RECENT_UPDATES + 1), ["old"]);
  });

  test("a pinned snapshot past retention is kept; the unpinned ones go", () => {
    const snapshots = [snap("d40", 40), snap("d35", 35), snap("d1", 1)];
    const keep = pinnedSnapshots(undefined, [entry("d40")]);
    assert.deepEqual(snapshotsToPrune(snapshots, { days: 30, keepAtLeast: 1 }, now, keep), ["d35"]);
  });
});
