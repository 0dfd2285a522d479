// The building blocks of the config's schemas, one per kind of field. Every schema carries, as
// its error, the sentence saying what is allowed: a failed parse is turned into
// "<key> is <value>; allowed: <that sentence>", never into zod's own wording.
import { z } from "zod";

type Shape = Record<string, z.ZodType>;

/** A `.strict()` object whose unknown-key error lists the keys it knows. */
export function strictObject<S extends Shape>(shape: S, allowed?: string) {
  const keys = Object.keys(shape).join(", ");
  return z
    .object(shape, {
      error: (issue) =>
        issue.code === "unrecognized_keys" ? keys : (allowed ?? `an object with keys ${keys}`),
    })
    .strict();
}

// Pulumi hands `config set --path` values over as strings, so "2" must count as 2; the error
// still shows the value as written.
export function integer(allowed: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  const error = { error: allowed };
  return z.preprocess(
    (v) => (typeof v === "string" && /^-?[0-9]+$/.test(v) ? Number(v) : v),
    z.int(error).min(min, error).max(max, error),
  );
}

export function boolean() {
  const error = { error: "true or false" };
  return z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean(error));
}

export function matching(pattern: RegExp, allowed: string) {
  const error = { error: allowed };
  return z.string(error).regex(pattern, error);
}

const PATH_ALLOWED = `a URL path starting with "/"`;
export const urlPath = () => matching(/^\/\S*$/, PATH_ALLOWED);
export const nonEmpty = (what: string) => matching(/\S/, `a non-empty string (${what})`);

const ARGV_ALLOWED = `an argument array of non-empty strings, e.g. ["./migrate", "up"] (not a shell string)`;
export const argv = () =>
  z.array(matching(/\S/, ARGV_ALLOWED), { error: ARGV_ALLOWED }).min(1, { error: ARGV_ALLOWED });

// Cross-field checks run only once every field is valid on its own: one mistake, one message
// (zod would otherwise run them on a half-parsed value, e.g. check the port range of port 70000).
export const afterFields: z.core.$ZodSuperRefineParams = {
  when: (payload) => payload.issues.length === 0,
};
