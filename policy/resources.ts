// What the policies see of a resource, as plain data: the few properties a check reads, with
// values the engine does not know yet (during preview) replaced by UNKNOWN. The pure checks take
// these views, so tests build them directly and never need the policy SDK's proxies.
import * as path from "node:path";
import { PolicyResource, UnknownValueError } from "@pulumi/policy";

/**
 * A value the engine cannot know yet: during preview, an input computed from another resource's
 * output (a Migration's `snapshotId` from a BackupSnapshot still to be taken). A check must never
 * report it as a violation; the same check runs again with the real value during `pulumi up`.
 */
export const UNKNOWN: unique symbol = Symbol("unknown");

/** A property bag where any value, at any depth, may be UNKNOWN. */
export type Props = Readonly<Record<string, unknown>>;

/** One resource of the stack, as a stack check sees it. */
export interface StackResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /** Outputs (after `up`) or planned state (preview: the inputs), only the keys asked for. */
  readonly props: Props;
  /** URNs of every resource this one depends on, explicitly or through an input. */
  readonly dependencies: readonly string[];
  /** URNs each input's value came from, by input name. */
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
}

/** A stack check's finding; `urn` attaches it to a resource instead of to the whole stack. */
export interface StackViolation {
  readonly message: string;
  readonly urn?: string;
}

/**
 * Copies `keys` out of the policy SDK's props. The SDK wraps props in a proxy that throws
 * UnknownValueError on reading an unknown value, which would abort the whole check and leave
 * only the SDK's generic "can't run policy during preview" note; reading each value here turns
 * unknowns into UNKNOWN so a check can skip exactly what it cannot judge and still check the rest.
 */
export function readProps(props: Record<string, unknown>, keys: readonly string[]): Props {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = read(() => props[key]);
    if (value !== undefined) {
      out[key] = value;
    }
  }
  return out;
}

// Deep copy through the proxy: nested objects (`retain.days`) are proxies too.
function read(get: () => unknown): unknown {
  let value: unknown;
  try {
    value = get();
  } catch (error) {
    if (error instanceof UnknownValueError) {
      return UNKNOWN;
    }
    throw error;
  }
  if (Array.isArray(value)) {
    return Array.from({ length: value.length }, (_, i) => read(() => (value as unknown[])[i]));
  }
  if (value !== null && typeof value === "object") {
    const object = value as Record<string, unknown>;
    return Object.fromEntries(Object.keys(object).map((k) => [k, read(() => object[k])]));
  }
  return value;
}

/** The stack's resources as plain views holding only `keys` of each resource's props. */
export function stackResources(
  resources: readonly PolicyResource[],
  keys: readonly string[],
): StackResource[] {
  return resources.map((r) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: readProps(r.props, keys),
    dependencies: r.dependencies.map((d) => d.urn),
    propertyDependencies: Object.fromEntries(
      Object.entries(r.propertyDependencies).map(([k, deps]) => [k, deps.map((d) => d.urn)]),
    ),
  }));
}

/** Whether `resource` depends on the resource with `urn`, explicitly or through any input. */
export function dependsOn(resource: StackResource, urn: string): boolean {
  return (
    resource.dependencies.includes(urn) ||
    Object.values(resource.propertyDependencies).some((urns) => urns.includes(urn))
  );
}

/** A string value with something in it, or undefined for anything else (UNKNOWN included). */
export function nonEmptyString(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

/** A value as a message shows it: strings quoted, absent as `(none)`, unknown as `(unknown)`. */
export function show(value: unknown): string {
  if (value === UNKNOWN) {
    return "(unknown)";
  }
  if (value === undefined || value === null || value === "") {
    return "(none)";
  }
  return JSON.stringify(value);
}

/**
 * Where a path the program passed points. The engine runs a policy pack with its own directory
 * (policy/) as the working directory, while the program runs in the project root, so a relative
 * path is resolved against the project root: the parent of policy/ (dist/policy at run time).
 */
export function resolveFromProject(p: string, projectRoot = PROJECT_ROOT): string {
  return path.resolve(projectRoot, p);
}

/** The Rewind project root: this file runs as dist/policy/resources.js. */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
