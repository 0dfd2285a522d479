import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { Slot, drainStatus, planSwitch, servedUpstreams, slotCount } from "../../domain/proxySlots";

const PLACEHOLDER = "127.0.0.1:1";

function slot(n: number, over: Partial<Slot> = {}): Slot {
  return {
    name: `s${n}`,
    upstream: PLACEHOLDER,
    admin: "maint",
    checked: false,
    up: false,
    sessions: 0,
    ...over,
  };
}

function empty(count: number): Slot[] {
  return Array.from({ length: count }, (_, i) => slot(i + 1));
}

/** The slots as they are after a plan's actions (what HAProxy would report). */
function applyPlan(slots: readonly Slot[], wanted: readonly string[]): Slot[] {
  const plan = planSwitch(slots, wanted);
  return slots.map((s) => {
    const action = plan.actions.find((a) => a.slot === s.name);
    if (action === undefined) return s;
    return action.kind === "drain"
      ? { ...s, admin: "drain" }
      : { ...s, upstream: action.upstream, admin: "ready", up: true };
  });
}

describe("planSwitch", () => {
  test("first list: fill the lowest free slots, nothing to drain", () => {
    const plan = planSwitch(empty(4), ["127.0.0.1:8001", "127.0.0.1:8002"]);
    assert.deepEqual(plan, {
      actions: [
        { kind: "fill", slot: "s1", upstream: "127.0.0.1:8001" },
        { kind: "fill", slot: "s2", upstream: "127.0.0.1:8002" },
      ],
      serving: [
        { slot: "s1", upstream: "127.0.0.1:8001" },
        { slot: "s2", upstream: "127.0.0.1:8002" },
      ],
      draining: [],
    });
  });

  test("a swap fills the new upstreams first, then drains the old ones", () => {
    const slots = applyPlan(empty(4), ["127.0.0.1:8001", "127.0.0.1:8002"]);
    const plan = planSwitch(slots, ["127.0.0.1:9001", "127.0.0.1:9002"]);
    assert.deepEqual(plan.actions, [
      { kind: "fill", slot: "s3", upstream: "127.0.0.1:9001" },
      { kind: "fill", slot: "s4", upstream: "127.0.0.1:9002" },
      { kind: "drain", slot: "s1", upstream: "127.0.0.1:8001" },
      { kind: "drain", slot: "s2", upstream: "127.0.0.1:8002" },
    ]);
    assert.deepEqual(plan.draining, ["127.0.0.1:8001", "127.0.0.1:8002"]);
  });

  test("the same list again changes nothing", () => {
    const slots = applyPlan(empty(4), ["127.0.0.1:8001", "127.0.0.1:8002"]);
    assert.deepEqual(planSwitch(slots, ["127.0.0.1:8002", "127.0.0.1:8001"]).actions, []);
  });

  test("back to an upstream still draining: its slot serves again, no new slot", () => {
    const slots = [
      slot(1, { upstream: "127.0.0.1:8001", admin: "drain", up: true, sessions: 1 }),
      slot(2, { upstream: "127.0.0.1:9001", admin: "ready", up: true }),
      slot(3),
    ];
    const plan = planSwitch(slots, ["127.0.0.1:8001"]);
    assert.deepEqual(plan.actions, [
      { kind: "ready", slot: "s1", upstream: "127.0.0.1:8001" },
      { kind: "drain", slot: "s2", upstream: "127.0.0.1:9001" },
    ]);
  });

  test("a slot in maint with requests still in flight is not reused", () => {
    const slots = [
      slot(1, { upstream: "127.0.0.1:8001", admin: "maint", sessions: 2 }),
      slot(2),
      slot(3, { upstream: "127.0.0.1:8002", admin: "ready", up: true }),
    ];
    const plan = planSwitch(slots, ["127.0.0.1:9001"]);
    assert.deepEqual(plan.actions[0], { kind: "fill", slot: "s2", upstream: "127.0.0.1:9001" });
  });

  test("too few free slots: the message says how many are busy and what to do", () => {
    const slots = applyPlan(empty(3), ["127.0.0.1:8001", "127.0.0.1:8002"]);
    assert.throws(
      () => planSwitch(slots, ["127.0.0.1:9001", "127.0.0.1:9002"]),
      new Error(
        "the proxy has 3 slots and 2 are busy (serving, draining or with requests in flight), " +
          "so 2 new upstream(s) do not fit; allowed: at most 1 new upstream(s) now; raise slots " +
          "or wait for the drain to finish",
      ),
    );
  });

  test("an empty, duplicated or malformed list is refused", () => {
    assert.throws(() => planSwitch(empty(2), []), /the upstream list is empty/);
    assert.throws(
      () => planSwitch(empty(2), ["127.0.0.1:8001", "127.0.0.1:8001"]),
      new Error("upstream 127.0.0.1:8001 is listed twice; allowed: each upstream once"),
    );
    assert.throws(
      () => planSwitch(empty(2), ["127.0.0.1"]),
      new Error(`upstream "127.0.0.1" is not allowed; allowed: "host:port"`),
    );
  });

  test("property: after any sequence of switches, exactly the last list is served, each once", () => {
    const upstream = fc.integer({ min: 8000, max: 8011 }).map((p) => `127.0.0.1:${p}`);
    const list = fc.uniqueArray(upstream, { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(fc.array(list, { minLength: 1, maxLength: 8 }), (lists) => {
        // Drains finish between switches (maint, nothing in flight), as drainUpstreams does.
        let slots = empty(8);
        for (const wanted of lists) {
          const before = slots;
          slots = applyPlan(slots, wanted);
          // Nothing that served and is still wanted stopped serving.
          for (const s of before.filter((b) => b.admin === "ready")) {
            if (wanted.includes(s.upstream)) {
              assert.equal(slots.find((x) => x.name === s.name)?.admin, "ready");
            }
          }
          assert.deepEqual([...servedUpstreams(slots)].sort(), [...wanted].sort());
          slots = slots.map((s) => (s.admin === "drain" ? { ...s, admin: "maint", up: false } : s));
        }
      }),
    );
  });
});

describe("drainStatus", () => {
  test("drained as soon as nothing is in flight, even before any wait", () => {
    assert.equal(drainStatus(0, 0, 30), "drained");
  });
  test("waits while requests are in flight and time is left", () => {
    assert.equal(drainStatus(1, 29_999, 30), "waiting");
  });
  test("times out at drainSeconds, whatever is still open", () => {
    assert.equal(drainStatus(3, 30_000, 30), "timed-out");
    assert.equal(drainStatus(1, 0, 0), "timed-out");
  });
});

describe("slotCount", () => {
  test("old and new side by side, a power of two, at least eight", () => {
    assert.deepEqual([1, 2, 4, 5, 8, 9, 100, 1000].map(slotCount), [8, 8, 8, 16, 16, 32, 256, 256]);
  });

  test("property: always room for two generations (up to the maximum), never fewer than 8", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 128 }), (replicas) => {
        const slots = slotCount(replicas);
        assert.ok(slots >= 2 * replicas && slots >= 8 && (slots & (slots - 1)) === 0);
      }),
    );
  });
});
