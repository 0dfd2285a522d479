import { InternalError, UserError } from "./errors";

/**
 * A schema revision. For the `sql` tool it is `"base"` (no migration applied) or four digits
 * from `"0001"`, ordered by number. Other tools (Alembic) use opaque ids whose order only the
 * migration history knows, so those are compared through an ordered list.
 */
export type Revision = string;

/** The revision before any migration; Alembic uses the same word (`alembic downgrade base`). */
export const BASE: Revision = "base";

// "0000" is excluded so that every revision has exactly one spelling: otherwise "0000" and
// "base" would both mean "nothing applied" and compare equal while being different pins.
const REVISION = /^(base|(?!0000)[0-9]{4})$/;

/** What a numbered revision may look like, for error messages. */
export const REVISION_FORMAT = `"base" or four digits from "0001" to "9999"`;

/** Whether `value` is a numbered revision: `"base"` or `"0001"`…`"9999"`. */
export function isRevision(value: unknown): value is Revision {
  return typeof value === "string" && REVISION.test(value);
}

/**
 * The number of a revision: 0 for `"base"`, 7 for `"0007"`.
 * @throws InternalError if `revision` is not a numbered revision (callers validate first).
 */
export function revisionNumber(revision: Revision): number {
  if (!isRevision(revision)) {
    throw new InternalError(
      `not a revision: ${JSON.stringify(revision)}; expected ${REVISION_FORMAT}`,
    );
  }
  return revision === BASE ? 0 : Number(revision);
}

/**
 * The revision with number `n`: `"base"` for 0, `"0007"` for 7.
 * @throws InternalError if `n` is not an integer from 0 to 9999.
 */
export function formatRevision(n: number): Revision {
  if (!Number.isInteger(n) || n < 0 || n > 9999) {
    throw new InternalError(`no revision has number ${n}; numbers run from 0 (base) to 9999`);
  }
  return n === 0 ? BASE : String(n).padStart(4, "0");
}

/**
 * Orders numbered revisions: `"base"` < `"0001"` < `"0002"` < …
 * @returns -1 if `a` comes first, 1 if `b` does, 0 if they are the same revision.
 * @throws InternalError if either is not a numbered revision.
 */
export function compareRevisions(a: Revision, b: Revision): -1 | 0 | 1 {
  return sign(revisionNumber(a) - revisionNumber(b));
}

/**
 * The revisions an ordered history knows, `"base"` first. `order` is the history oldest first;
 * it may start with `"base"` or leave it implicit.
 * @throws InternalError if `order` repeats a revision or has `"base"` anywhere but first.
 */
export function knownRevisions(order: readonly Revision[]): Revision[] {
  const rest = order[0] === BASE ? order.slice(1) : order.slice();
  const seen = new Set<Revision>();
  for (const revision of rest) {
    if (revision === BASE || seen.has(revision)) {
      throw new InternalError(
        `revision history lists ${JSON.stringify(revision)} twice: ${order.join(", ")}`,
      );
    }
    seen.add(revision);
  }
  return [BASE, ...rest];
}

/**
 * Where `revision` sits in the history `order` (oldest first): 0 for `"base"`, 1 for the first
 * migration, and so on.
 * @throws UserError naming the known revisions if `revision` is not in the history; a pinned
 * revision is user input, so an unknown one is the user's to fix.
 */
export function revisionPosition(order: readonly Revision[], revision: Revision): number {
  const known = knownRevisions(order);
  const position = known.indexOf(revision);
  if (position < 0) {
    throw new UserError(
      `unknown revision ${JSON.stringify(revision)}; known revisions: ${known.join(", ")}`,
    );
  }
  return position;
}

/**
 * Orders two revisions by their place in the history `order` (oldest first), for tools whose
 * ids carry no order of their own.
 * @returns -1 if `a` is older, 1 if `b` is, 0 if they are the same revision.
 * @throws UserError if either is not in the history.
 */
export function compareInOrder(order: readonly Revision[], a: Revision, b: Revision): -1 | 0 | 1 {
  return sign(revisionPosition(order, a) - revisionPosition(order, b));
}

/**
 * The revision after `revision` in the history `order`, or `undefined` at the head.
 * @throws UserError if `revision` is not in the history.
 */
export function nextRevision(order: readonly Revision[], revision: Revision): Revision | undefined {
  return knownRevisions(order)[revisionPosition(order, revision) + 1];
}

/**
 * The revision before `revision` in the history `order`, or `undefined` for `"base"`.
 * @throws UserError if `revision` is not in the history.
 */
export function previousRevision(
  order: readonly Revision[],
  revision: Revision,
): Revision | undefined {
  const position = revisionPosition(order, revision);
  return position === 0 ? undefined : knownRevisions(order)[position - 1];
}

function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}
