// Which resource of a Release waits for which: the plan's step order, turned into the chain of
// `dependsOn` that makes Pulumi's graph run in the right order for the release's direction.
import { InternalError } from "./errors";
import { Step } from "./planner";

/** A resource of a Release. The restore resource also stops and restarts the app. */
export type Role = "restore" | "backup" | "migration" | "app" | "gate";

function roleOf(step: Step): Role {
  switch (step) {
    case "stop-app":
    case "restore":
      return "restore";
    case "backup":
      return "backup";
    case "migrate":
      return "migration";
    case "app":
      return "app";
    case "gate":
      return "gate";
    default: {
      const unexpected: never = step;
      throw new InternalError(`unknown release step ${String(unexpected)}`);
    }
  }
}

/**
 * The Release's resources in the order they must run. The plan names the steps that change
 * something; the migration, the app and (when enabled) the gate are declared on every update,
 * since a resource left out would be deleted. Those that do not change are placed where they
 * cannot reorder the ones that do: the migration right after a restore (it then only confirms
 * the restored revision) or first, the app before the gate, the gate last.
 */
export function releaseOrder(steps: readonly Step[], gateEnabled: boolean): Role[] {
  const roles: Role[] = [];
  for (const step of steps) {
    const role = roleOf(step);
    if (!roles.includes(role)) roles.push(role);
  }
  if (!roles.includes("migration")) {
    roles.splice(roles.includes("restore") ? roles.indexOf("restore") + 1 : 0, 0, "migration");
  }
  if (!roles.includes("app")) {
    const gate = roles.indexOf("gate");
    roles.splice(gate === -1 ? roles.length : gate, 0, "app");
  }
  if (gateEnabled && !roles.includes("gate")) roles.push("gate");
  return roles;
}

/** Each role's predecessor in `order`, which it `dependsOn`; the first has none. */
export function predecessors(order: readonly Role[]): Map<Role, Role | undefined> {
  return new Map(order.map((role, i) => [role, i === 0 ? undefined : order[i - 1]]));
}
