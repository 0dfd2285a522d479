// The early check of a component's arguments: plain values are checked in the constructor,
// before anything is registered, so a typo fails the program naming the component, the argument,
// the value and what is allowed. Values only known later (Outputs, Promises) are the providers'
// to check.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { UserError } from "./errors";

/** Whether `value` is given and known now: not absent, not an Output, not a Promise. */
export function isPlain<T>(value: pulumi.Input<T> | null | undefined): value is T {
  // null counts as absent: the components fill in `?? default` for it as for undefined.
  return (
    value !== undefined &&
    value !== null &&
    !pulumi.Output.isInstance(value) &&
    !(value instanceof Promise)
  );
}

/** An integer number of seconds, at least 1 (a lock timeout of 0 would mean "wait forever"). */
export function isSeconds(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 1;
}
export const SECONDS_ALLOWED = "an integer number of seconds, at least 1";

/** A string with something in it other than whitespace. */
export function isNonEmpty(value: unknown): boolean {
  return typeof value === "string" && value.trim() !== "";
}

/**
 * An absolute path. Relative ones are refused: the providers run in their own process, where a
 * relative path would resolve against another directory than the program's.
 */
export function isAbsolutePath(value: unknown): boolean {
  return typeof value === "string" && path.isAbsolute(value);
}

/**
 * The problems found in one component's plain arguments, reported together by `throwIfAny`:
 * one line each, `<Component> "<name>": <arg> is <value>; allowed: <what is allowed>`.
 */
export class ArgumentChecks {
  private readonly problems: string[] = [];

  /** @param component The class name, e.g. `Restore`. @param name The resource's name. */
  constructor(
    private readonly component: string,
    private readonly name: string,
  ) {}

  /** Records `<arg> is <value>; allowed: <allowed>` if `value` is plain and not `ok`. */
  check(arg: string, value: unknown, ok: (value: unknown) => boolean, allowed: string): void {
    if (isPlain(value) && !ok(value)) {
      this.invalid(arg, value, allowed);
    }
  }

  /**
   * Checks a plain value against a schema of the config (domain/config/), so the rule and
   * its wording of what is allowed are written once; a nested problem is named by its path, e.g.
   * `retain.days`.
   */
  schema(arg: string, value: unknown, schema: z.ZodType): void {
    if (!isPlain(value)) {
      return;
    }
    const result = schema.safeParse(value);
    for (const issue of result.error?.issues ?? []) {
      const at = arg + formatPath(issue.path);
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) {
          this.add(`${at}.${key} is an unknown key; allowed keys: ${issue.message}`);
        }
        continue;
      }
      const found = valueAt(value, issue.path);
      if (found === undefined) {
        this.add(`${at} is missing; allowed: ${issue.message}`);
      } else {
        this.invalid(at, found, issue.message);
      }
    }
  }

  /** Records `<arg> is <value>; allowed: <allowed>`. */
  invalid(arg: string, value: unknown, allowed: string): void {
    this.add(`${arg} is ${render(value)}; allowed: ${allowed}`);
  }

  /** Records a problem already worded (e.g. imageRepository.ts's), if there is one. */
  add(problem: string | undefined): void {
    if (problem !== undefined) {
      this.problems.push(problem);
    }
  }

  /** @throws UserError with every problem recorded, one line each, if there is any. */
  throwIfAny(): void {
    if (this.problems.length > 0) {
      throw new UserError(
        this.problems.map((p) => `${this.component} "${this.name}": ${p}`).join("\n"),
      );
    }
  }
}

// [1].path
function formatPath(segments: readonly PropertyKey[]): string {
  return segments.map((s) => (typeof s === "number" ? `[${s}]` : `.${String(s)}`)).join("");
}

function valueAt(value: unknown, segments: readonly PropertyKey[]): unknown {
  let at = value;
  for (const segment of segments) {
    if (typeof at !== "object" || at === null) {
      return undefined;
    }
    at = (at as Record<PropertyKey, unknown>)[segment];
  }
  return at;
}

// Numbers as written (NaN, Infinity), the rest as JSON; long values are cut, the argument's name
// already says where to look.
function render(value: unknown): string {
  const text = typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
