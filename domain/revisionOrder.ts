// How the CLI orders two schema revisions, the way the program will once a config is pinned
// (index.ts → planRelease): numbered sql revisions by their number, Alembic's ids by the pinned
// config's `rewind:database.migrations.revisions` (oldest first), since the ids carry no order.
// Pure: `rewind plan`, `rewind rollback`, `rewind release` and the report decide with it.
import { BASE, compareInOrder, compareRevisions, isRevision } from "./revision";
import { Pins } from "./pins";

/** How two revisions are ordered, or why they cannot be. */
export type Ordering =
  | { readonly kind: "numbered" }
  | {
      readonly kind: "listed";
      /** Every Alembic revision id, oldest first, without `"base"`. */
      readonly order: readonly string[];
      /**
       * `target`: the pinned config's own list. `current`: the target's list lacks a revision
       * and the current config's list has both, so that list must be pinned with the target
       * (the program orders by the pinned list only).
       */
      readonly source: "target" | "current";
    }
  | { readonly kind: "refused"; readonly reason: string };

export interface OrderingInput {
  /** The revision now. */
  readonly from: string;
  /** The revision the target config pins. */
  readonly to: string;
  /** The config to be pinned, and how messages name it (`update 3`). */
  readonly target: Pins;
  readonly targetName: string;
  /** The config now (its list is the fallback), and how messages name it. */
  readonly current: Pins | undefined;
  readonly currentName: string;
}

const LIST_KEY = "rewind:database.migrations.revisions";

/**
 * The order the program would plan `from` → `to` by once `target` is pinned. For the alembic
 * tool: the target's list when it has both revisions, else the current config's list when that
 * has both, else a refusal naming the revision the lists lack. Numbered revisions of any other
 * tool are compared by number; an id that is neither is refused.
 */
export function revisionOrdering(input: OrderingInput): Ordering {
  const { from, to, target, current } = input;
  const targetList = target.migrationsRevisions;
  if (target.migrationsTool === "alembic") {
    if (targetList !== undefined && missing(targetList, from, to).length === 0) {
      return { kind: "listed", order: targetList, source: "target" };
    }
    const currentList = current?.migrationsRevisions;
    if (currentList !== undefined && missing(currentList, from, to).length === 0) {
      return { kind: "listed", order: currentList, source: "current" };
    }
    const lacks = (name: string, list: readonly string[] | undefined) =>
      list === undefined
        ? `${name} has no ${LIST_KEY}`
        : `${name}'s ${LIST_KEY} (${list.join(", ")}) lacks ${quoted(missing(list, from, to))}`;
    return {
      kind: "refused",
      reason:
        `${lacks(input.targetName, targetList)}` +
        (currentList === undefined ? "" : `, and ${lacks(input.currentName, currentList)}`) +
        `: the program orders Alembic revisions by that list only and would refuse the pin; ` +
        `list every revision id there, oldest first`,
    };
  }
  if (numbered(from, to)) {
    return { kind: "numbered" };
  }
  const odd = [from, to].filter((r) => !isRevision(r));
  return {
    kind: "refused",
    reason:
      `${quoted(odd)} ${odd.length === 1 ? "is not a numbered revision" : "are not numbered revisions"} ` +
      `and ${input.targetName} pins the ${target.migrationsTool ?? "(unnamed)"} tool, whose ` +
      `revisions are numbered; only the alembic tool orders ids by ${LIST_KEY}`,
  };
}

/**
 * Compares two revisions in an ordering: -1 if `a` is older, 1 if `b` is, 0 if the same.
 * Only for an ordering that is not refused; {@link revisionOrdering} has checked both ids.
 */
export function compareIn(
  ordering: Exclude<Ordering, { kind: "refused" }>,
  a: string,
  b: string,
): -1 | 0 | 1 {
  return ordering.kind === "numbered"
    ? compareRevisions(a, b)
    : compareInOrder(ordering.order, a, b);
}

/**
 * The Alembic revisions a downgrade from `from` to `to` undoes, newest first (as
 * `alembic downgrade` runs them): `to` itself stays applied. Empty unless `from` is newer.
 */
export function listedStepsDown(order: readonly string[], from: string, to: string): string[] {
  const known = [BASE, ...order];
  const start = known.indexOf(from);
  const end = known.indexOf(to);
  return start <= end ? [] : known.slice(end + 1, start + 1).reverse();
}

function numbered(a: string, b: string): boolean {
  return isRevision(a) && isRevision(b);
}

function missing(list: readonly string[], from: string, to: string): string[] {
  return [...new Set([from, to])].filter((r) => r !== BASE && !list.includes(r));
}

function quoted(revisions: readonly string[]): string {
  return revisions.map((r) => JSON.stringify(r)).join(" and ");
}
