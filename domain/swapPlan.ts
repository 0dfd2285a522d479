// The order of a health-gated replacement on the Docker target, decided without touching the
// engine: start → wait until ready → switch the front door → (confirm, drain) → stop. The old
// replicas are stopped only after the proxy serves from the new ones and what was in flight on
// them is done, so there is always a ready replica.

/** A replica as found on the engine. */
export interface RunningReplica {
  readonly id: string;
  /** The `rewind.spec` label: which ref, command and env it runs. */
  readonly spec: string;
  /** The container is running (not exited, not restarting). */
  readonly running: boolean;
  /** It answered the readiness path just now; false takes it out of the plan. */
  readonly ready: boolean;
  /** Creation time, seconds: the oldest current replicas are kept, so reruns do not churn. */
  readonly created: number;
}

/** What the service should be. */
export interface DesiredReplicas {
  readonly spec: string;
  readonly replicas: number;
}

/** The steps, in the only order Rewind runs them. */
export type SwapStep =
  | { readonly kind: "start"; readonly count: number }
  | { readonly kind: "await-ready" }
  | { readonly kind: "switch"; readonly keep: readonly string[] }
  | { readonly kind: "stop"; readonly ids: readonly string[] };

export interface SwapPlan {
  /** Current, running, ready replicas that stay in service. */
  readonly keep: readonly RunningReplica[];
  /** How many new replicas to start. */
  readonly start: number;
  /** Replicas to stop once the proxy no longer uses them: outdated, surplus, broken. */
  readonly stop: readonly RunningReplica[];
  /** The steps; empty when the engine already matches. */
  readonly steps: readonly SwapStep[];
}

/**
 * What the front door routes to now: the ids of the replicas the proxy serves; `undefined`
 * when there is no proxy (or a new one must start); `"unrouted"` for a service without a port,
 * which has no front door to switch.
 */
export type Routing = readonly string[] | undefined | "unrouted";

/**
 * Which replicas to keep, start and stop, and in which order.
 * @param current every app container of the service (running or not).
 * @param desired the spec and count wanted.
 * @param routed what the front door serves now. A switch is planned whenever that differs from
 * what is kept, even if no replica changes; when unrouted, only when replicas start or stop
 * (the moment the old ones begin to leave).
 */
export function planSwap(
  current: readonly RunningReplica[],
  desired: DesiredReplicas,
  routed: Routing,
): SwapPlan {
  if (!Number.isInteger(desired.replicas) || desired.replicas < 1) {
    throw new RangeError(`replicas must be an integer of at least 1, got ${desired.replicas}`);
  }
  const usable = current
    .filter((r) => r.running && r.ready && r.spec === desired.spec)
    .sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
  const keep = usable.slice(0, desired.replicas);
  const kept = new Set(keep.map((r) => r.id));
  const stop = current.filter((r) => !kept.has(r.id));
  const start = desired.replicas - keep.length;

  const steps: SwapStep[] = [];
  if (start > 0) {
    steps.push({ kind: "start", count: start }, { kind: "await-ready" });
  }
  const routerCurrent =
    routed === "unrouted" ||
    (routed !== undefined &&
      routed.length === keep.length &&
      keep.every((r) => routed.includes(r.id)));
  if (start > 0 || stop.length > 0 || !routerCurrent) {
    steps.push({ kind: "switch", keep: keep.map((r) => r.id) });
  }
  if (stop.length > 0) {
    steps.push({ kind: "stop", ids: stop.map((r) => r.id) });
  }
  return { keep, start, stop, steps };
}

/** A front-door container as found on the engine: HAProxy, or the router before it. */
export interface RunningFrontDoor {
  readonly id: string;
  readonly running: boolean;
  /** What it was started from (its `rewind.spec` label): image and config. */
  readonly spec: string;
  readonly port: number;
}

export type FrontDoorAction =
  /** The proxy that runs is the one wanted; `retire` are leftovers (a crash mid-replace). */
  | { readonly kind: "keep"; readonly proxy: RunningFrontDoor; readonly retire: readonly string[] }
  /**
   * Start a proxy at the switch. `removeFirst` must free the port before it binds: routers,
   * which do not share a port. `retire` are proxies that keep serving beside the new one (both
   * bind with SO_REUSEPORT) until it serves, then soft-stop.
   */
  | {
      readonly kind: "create";
      readonly removeFirst: readonly string[];
      readonly retire: readonly string[];
    }
  /**
   * A service without a port has no front door. `retire` are the proxies and routers it had
   * while it had a port: they go at the switch (or at once when no replica changes).
   */
  | { readonly kind: "none"; readonly retire: readonly string[] };

/**
 * Keep the running proxy if it was started from the wanted image and config on the wanted port;
 * otherwise start one. Routers (stacks from before HAProxy) are always replaced. A service
 * without a port (`desired` undefined) gets none, and every front door it had is retired.
 */
export function planFrontDoor(
  proxies: readonly RunningFrontDoor[],
  routers: readonly RunningFrontDoor[],
  desired: { readonly spec: string; readonly port: number } | undefined,
): FrontDoorAction {
  if (desired === undefined) {
    return { kind: "none", retire: [...proxies, ...routers].map((p) => p.id) };
  }
  const keep = proxies.find((p) => p.running && p.spec === desired.spec && p.port === desired.port);
  const others = proxies.filter((p) => p !== keep).map((p) => p.id);
  const routerIds = routers.map((r) => r.id);
  if (keep !== undefined) {
    return { kind: "keep", proxy: keep, retire: [...others, ...routerIds] };
  }
  return { kind: "create", removeFirst: routerIds, retire: others };
}
