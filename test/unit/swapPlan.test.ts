import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  RunningFrontDoor,
  RunningReplica,
  SwapStep,
  planFrontDoor,
  planSwap,
} from "../../domain/swapPlan";

function replica(id: string, spec: string, created: number, over: Partial<RunningReplica> = {}) {
  return { id, spec, running: true, ready: true, created, ...over } satisfies RunningReplica;
}

describe("planSwap", () => {
  test("first deploy: start every replica, wait, switch the router on; nothing to stop", () => {
    const plan = planSwap([], { spec: "v1", replicas: 2 }, undefined);
    assert.deepEqual(plan, {
      keep: [],
      start: 2,
      stop: [],
      steps: [{ kind: "start", count: 2 }, { kind: "await-ready" }, { kind: "switch", keep: [] }],
    });
  });

  test("new version: start all new, wait, switch, and only then stop the old", () => {
    const old = [replica("a", "v1", 1), replica("b", "v1", 2)];
    const plan = planSwap(old, { spec: "v2", replicas: 2 }, ["a", "b"]);
    assert.deepEqual(plan.steps, [
      { kind: "start", count: 2 },
      { kind: "await-ready" },
      { kind: "switch", keep: [] },
      { kind: "stop", ids: ["a", "b"] },
    ]);
  });

  test("nothing to do when the engine and the router match", () => {
    const running = [replica("a", "v1", 1), replica("b", "v1", 2)];
    const plan = planSwap(running, { spec: "v1", replicas: 2 }, ["b", "a"]);
    assert.deepEqual(plan.steps, []);
    assert.deepEqual(
      plan.keep.map((r) => r.id),
      ["a", "b"],
    );
  });

  test("a replica removed by hand is replaced; the survivor keeps serving throughout", () => {
    const plan = planSwap([replica("a", "v1", 1)], { spec: "v1", replicas: 2 }, ["a", "gone"]);
    assert.deepEqual(plan.steps, [
      { kind: "start", count: 1 },
      { kind: "await-ready" },
      { kind: "switch", keep: ["a"] },
    ]);
  });

  test("scale down: switch to the oldest replicas first, then stop the newest", () => {
    const running = [replica("c", "v1", 3), replica("a", "v1", 1), replica("b", "v1", 2)];
    const plan = planSwap(running, { spec: "v1", replicas: 1 }, ["a", "b", "c"]);
    assert.deepEqual(plan.steps, [
      { kind: "switch", keep: ["a"] },
      { kind: "stop", ids: ["c", "b"] },
    ]);
  });

  test("exited, restarting and unready replicas are replaced and removed", () => {
    const running = [
      replica("a", "v1", 1, { running: false }),
      replica("b", "v1", 2, { ready: false }),
      replica("c", "v1", 3),
    ];
    const plan = planSwap(running, { spec: "v1", replicas: 2 }, ["b", "c"]);
    assert.deepEqual(plan.steps, [
      { kind: "start", count: 1 },
      { kind: "await-ready" },
      { kind: "switch", keep: ["c"] },
      { kind: "stop", ids: ["a", "b"] },
    ]);
  });

  test("a router without the kept list (recreated, or its file lost) gets a switch", () => {
    const running = [replica("a", "v1", 1)];
    assert.deepEqual(planSwap(running, { spec: "v1", replicas: 1 }, undefined).steps, [
      { kind: "switch", keep: ["a"] },
    ]);
    assert.deepEqual(planSwap(running, { spec: "v1", replicas: 1 }, []).steps, [
      { kind: "switch", keep: ["a"] },
    ]);
  });

  test("a service without a port: nothing routes to it, so only a change of replicas switches", () => {
    assert.deepEqual(planSwap([], { spec: "v1", replicas: 1 }, "unrouted").steps, [
      { kind: "start", count: 1 },
      { kind: "await-ready" },
      { kind: "switch", keep: [] },
    ]);
    const running = [replica("a", "v1", 1)];
    assert.deepEqual(planSwap(running, { spec: "v1", replicas: 1 }, "unrouted").steps, []);
    assert.deepEqual(planSwap(running, { spec: "v2", replicas: 1 }, "unrouted").steps, [
      { kind: "start", count: 1 },
      { kind: "await-ready" },
      { kind: "switch", keep: [] },
      { kind: "stop", ids: ["a"] },
    ]);
  });

  test("fewer than one replica is an internal error", () => {
    assert.throws(() => planSwap([], { spec: "v1", replicas: 0 }, []), RangeError);
  });

  const replicaArb = fc.record({
    id: fc.uuid(),
    spec: fc.constantFrom("v1", "v2"),
    running: fc.boolean(),
    ready: fc.boolean(),
    created: fc.nat(100),
  });

  test("property: never a moment without a ready replica, counts add up", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(replicaArb, { selector: (r) => r.id, maxLength: 8 }),
        fc.constantFrom("v1", "v2"),
        fc.integer({ min: 1, max: 6 }),
        fc.oneof(
          fc.constant("unrouted" as const),
          fc.option(fc.array(fc.uuid(), { maxLength: 4 }), { nil: undefined }),
        ),
        (current, spec, replicas, routed) => {
          const plan = planSwap(current, { spec, replicas }, routed);
          const ids = (list: readonly RunningReplica[]) => list.map((r) => r.id).sort();
          // Every replica found is either kept or stopped, never both.
          assert.deepEqual([...ids(plan.keep), ...ids(plan.stop)].sort(), ids(current));
          assert.equal(plan.keep.length + plan.start, replicas);
          for (const r of plan.keep) {
            assert.ok(r.running && r.ready && r.spec === spec);
          }
          // Order: start, await-ready, switch, stop; stop only after a switch.
          const kinds = plan.steps.map((s: SwapStep) => s.kind);
          const order = ["start", "await-ready", "switch", "stop"];
          assert.deepEqual(
            kinds,
            order.filter((k) => kinds.includes(k as SwapStep["kind"])),
          );
          if (kinds.includes("stop") || kinds.includes("start")) {
            assert.ok(kinds.includes("switch"));
          }
          // After the switch the router serves exactly `replicas` ready replicas.
          const sw = plan.steps.find((s) => s.kind === "switch");
          if (sw !== undefined && sw.kind === "switch") {
            assert.equal(sw.keep.length + plan.start, replicas);
          }
        },
      ),
    );
  });
});

describe("planFrontDoor", () => {
  const door = (id: string, over: Partial<RunningFrontDoor> = {}): RunningFrontDoor => ({
    id,
    running: true,
    spec: "haproxy-1",
    port: 8000,
    ...over,
  });
  const desired = { spec: "haproxy-1", port: 8000 };

  test("keeps the running proxy with the same image, config and port", () => {
    assert.deepEqual(planFrontDoor([door("p")], [], desired), {
      kind: "keep",
      proxy: door("p"),
      retire: [],
    });
  });

  test("starts one when there is none, or it changed, or it stopped; the old one retires after", () => {
    assert.deepEqual(planFrontDoor([], [], desired), {
      kind: "create",
      removeFirst: [],
      retire: [],
    });
    for (const over of [{ spec: "haproxy-2" }, { port: 9000 }, { running: false }]) {
      assert.deepEqual(planFrontDoor([door("p", over)], [], desired), {
        kind: "create",
        removeFirst: [],
        retire: ["p"],
      });
    }
  });

  test("a stack on the old router: the router frees the port first, then HAProxy starts", () => {
    assert.deepEqual(planFrontDoor([], [door("r", { spec: "router@sha256:1" })], desired), {
      kind: "create",
      removeFirst: ["r"],
      retire: [],
    });
  });

  test("a service without a port gets none; every proxy and router it had retires", () => {
    assert.deepEqual(planFrontDoor([], [], undefined), { kind: "none", retire: [] });
    assert.deepEqual(
      planFrontDoor([door("p"), door("q", { running: false })], [door("r")], undefined),
      { kind: "none", retire: ["p", "q", "r"] },
    );
  });

  test("leftover proxies and routers retire beside the one kept", () => {
    const plan = planFrontDoor(
      [door("old", { port: 9000 }), door("p")],
      [door("r", { running: false })],
      desired,
    );
    assert.deepEqual(plan, { kind: "keep", proxy: door("p"), retire: ["old", "r"] });
  });
});
