// Which of the proxy's server slots serve which upstream, decided without touching HAProxy:
// switching to a new upstream list fills free slots first and only then drains the slots of
// upstreams that leave, so some slot is ready at every moment (the swap's "switch" step).
import { DEFAULT_SLOTS, MAX_SLOTS, UPSTREAM } from "./haproxyConfig";

/** A slot's administrative state, as set through the runtime API. */
export type AdminState = "ready" | "drain" | "maint";

/** One server slot as HAProxy reports it. */
export interface Slot {
  /** `s1` … */
  readonly name: string;
  /** `host:port` it points at (the placeholder `127.0.0.1:1` before it was ever filled). */
  readonly upstream: string;
  readonly admin: AdminState;
  /** A health check is on for it (the config has a ready path). */
  readonly checked: boolean;
  /**
   * It takes requests and, when health checks are on, its last check passed (HAProxy counts a
   * slot leaving maint as running before its first check).
   */
  readonly up: boolean;
  /** Requests (streams, WebSocket tunnels) on it now, queued ones included. */
  readonly sessions: number;
}

/** One runtime API change, in the order they must be applied. */
export type SlotAction =
  /** Point a free slot at the upstream, then make it ready. */
  | { readonly kind: "fill"; readonly slot: string; readonly upstream: string }
  /** A slot that already points at the upstream (draining, or in maint) serves again. */
  | { readonly kind: "ready"; readonly slot: string; readonly upstream: string }
  /** No new requests; the ones in flight finish. */
  | { readonly kind: "drain"; readonly slot: string; readonly upstream: string };

export interface SwitchPlan {
  readonly actions: readonly SlotAction[];
  /** Slot of each wanted upstream once the actions are applied, in the order wanted. */
  readonly serving: readonly { readonly slot: string; readonly upstream: string }[];
  /** Upstreams put in drain by this plan. */
  readonly draining: readonly string[];
}

/**
 * How many slots a service of `replicas` needs: the old and the new replicas side by side
 * during a swap, rounded up to a power of two (at least DEFAULT_SLOTS), so a changed replica
 * count rarely changes the config (which needs a new proxy).
 */
export function slotCount(replicas: number): number {
  let slots = DEFAULT_SLOTS;
  while (slots < 2 * replicas && slots < MAX_SLOTS) slots *= 2;
  return slots;
}

/**
 * What to change so that exactly `wanted` is served. Slots that keep their upstream are left
 * alone; new upstreams take free slots (in maint, nothing in flight), lowest first; slots
 * serving an upstream that is not wanted are drained, after every fill.
 * @throws Error when `wanted` is empty, has a duplicate or a malformed entry, or does not fit
 * in the free slots (the message says how many are busy and why).
 */
export function planSwitch(slots: readonly Slot[], wanted: readonly string[]): SwitchPlan {
  if (wanted.length === 0) {
    throw new Error("the upstream list is empty; allowed: at least one host:port");
  }
  const bad = wanted.find((u) => !UPSTREAM.test(u));
  if (bad !== undefined) {
    throw new Error(`upstream ${JSON.stringify(bad)} is not allowed; allowed: "host:port"`);
  }
  const duplicate = wanted.find((u, i) => wanted.indexOf(u) !== i);
  if (duplicate !== undefined) {
    throw new Error(`upstream ${duplicate} is listed twice; allowed: each upstream once`);
  }
  const fills: SlotAction[] = [];
  const serving: { slot: string; upstream: string }[] = [];
  const taken = new Set<string>();
  // A slot already pointing at a wanted upstream keeps it: the ready one first, so an upstream
  // that somehow sits in two slots is served from the one that serves now.
  const order = (s: Slot): number => (s.admin === "ready" ? 0 : s.admin === "drain" ? 1 : 2);
  for (const upstream of wanted) {
    const own = slots
      .filter((s) => s.upstream === upstream && !taken.has(s.name))
      .sort((a, b) => order(a) - order(b))[0];
    if (own === undefined) {
      continue;
    }
    taken.add(own.name);
    serving.push({ slot: own.name, upstream });
    if (own.admin !== "ready") {
      fills.push({ kind: "ready", slot: own.name, upstream });
    }
  }
  const wantedSet = new Set(wanted);
  const free = slots.filter(
    (s) =>
      !taken.has(s.name) && s.admin === "maint" && s.sessions === 0 && !wantedSet.has(s.upstream),
  );
  const missing = wanted.filter((u) => !serving.some((s) => s.upstream === u));
  if (missing.length > free.length) {
    const busy = slots.length - free.length;
    throw new Error(
      `the proxy has ${slots.length} slots and ${busy} are busy (serving, draining or with ` +
        `requests in flight), so ${missing.length} new upstream(s) do not fit; allowed: at most ` +
        `${free.length} new upstream(s) now; raise slots or wait for the drain to finish`,
    );
  }
  missing.forEach((upstream, i) => {
    const slot = free[i].name;
    serving.push({ slot, upstream });
    fills.push({ kind: "fill", slot, upstream });
  });
  const servingSlots = new Set(serving.map((s) => s.slot));
  const drains: SlotAction[] = slots
    .filter((s) => s.admin === "ready" && !servingSlots.has(s.name))
    .map((s) => ({ kind: "drain", slot: s.name, upstream: s.upstream }));
  const position = new Map(wanted.map((u, i) => [u, i]));
  serving.sort((a, b) => (position.get(a.upstream) ?? 0) - (position.get(b.upstream) ?? 0));
  return { actions: [...fills, ...drains], serving, draining: drains.map((d) => d.upstream) };
}

/** The upstreams the proxy sends new requests to: ready slots, in slot order. */
export function servedUpstreams(slots: readonly Slot[]): string[] {
  return slots.filter((s) => s.admin === "ready").map((s) => s.upstream);
}

/** Where a drain stands. */
export type DrainStatus = "drained" | "waiting" | "timed-out";

/**
 * A drain is over when nothing is in flight, or when `drainSeconds` have passed: then what is
 * left (a WebSocket, a slow download) is the replica's to close when it is stopped.
 */
export function drainStatus(
  sessions: number,
  elapsedMs: number,
  drainSeconds: number,
): DrainStatus {
  if (sessions === 0) {
    return "drained";
  }
  return elapsedMs >= drainSeconds * 1000 ? "timed-out" : "waiting";
}
