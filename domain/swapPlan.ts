// The order of a health-gated replacement on the Docker target, decided without touching the
// engine: start → wait until ready → switch the router → stop. The old replicas are stopped
// only after the router serves from the new ones, so there is always a ready replica.

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
  /** Replicas to stop once the router no longer uses them: outdated, surplus, broken. */
  readonly stop: readonly RunningReplica[];
  /** The steps; empty when the engine already matches. */
  readonly steps: readonly SwapStep[];
}

/**
 * Which replicas to keep, start and stop, and in which order.
 * @param current every app container of the service (running or not).
 * @param desired the spec and count wanted.
 * @param routed ids of the replicas the router serves now; undefined when there is no router
 * (or it must be recreated). A switch is planned whenever that differs from what is kept, even
 * if no replica changes.
 */
export function planSwap(
  current: readonly RunningReplica[],
  desired: DesiredReplicas,
  routed: readonly string[] | undefined,
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
    routed !== undefined &&
    routed.length === keep.length &&
    keep.every((r) => routed.includes(r.id));
  if (start > 0 || stop.length > 0 || !routerCurrent) {
    steps.push({ kind: "switch", keep: keep.map((r) => r.id) });
  }
  if (stop.length > 0) {
    steps.push({ kind: "stop", ids: stop.map((r) => r.id) });
  }
  return { keep, start, stop, steps };
}

/** The router container as found on the engine. */
export interface RunningRouter {
  readonly id: string;
  readonly running: boolean;
  /** The router image ref it was started from (its `rewind.spec` label). */
  readonly spec: string;
  readonly port: number;
}

export type RouterAction =
  | { readonly kind: "keep"; readonly router: RunningRouter; readonly remove: readonly string[] }
  | { readonly kind: "create"; readonly remove: readonly string[] };

/**
 * Keep the running router if it runs the wanted image on the wanted port; otherwise create one,
 * after removing the others (they may hold the port). Extra routers (a crash between create
 * and remove) are removed either way.
 */
export function planRouter(
  routers: readonly RunningRouter[],
  desired: { readonly spec: string; readonly port: number },
): RouterAction {
  const keep = routers.find((r) => r.running && r.spec === desired.spec && r.port === desired.port);
  const remove = routers.filter((r) => r !== keep).map((r) => r.id);
  return keep === undefined ? { kind: "create", remove } : { kind: "keep", router: keep, remove };
}
