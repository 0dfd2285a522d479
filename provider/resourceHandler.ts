// What one resource type does to the world, and how the plugin hands it the engine's values.
// Handlers see plain values: secrets unwrapped, and the `__provider` key that states written by
// Rewind's earlier dynamic providers carry removed. Secrets go back out as secrets.
import type * as provider from "@pulumi/pulumi/provider";

/** An input that is wrong, and why, in words for the person who set it. */
export type CheckFailure = provider.CheckFailure;

/** What a handler's `check` reports: the inputs to use and what is wrong with them. */
export interface CheckResult<I> {
  readonly inputs: I;
  readonly failures?: readonly CheckFailure[];
}

/** One resource type's life cycle, on plain values. */
export interface ResourceHandler<I, O> {
  check?(olds: I | undefined, news: I): Promise<CheckResult<I>>;
  /** `olds` is the state (last outputs), `news` the program's inputs: each type says what differs. */
  diff(id: string, olds: O, news: I): Promise<provider.DiffResult>;
  create(inputs: I): Promise<{ id: string; outs: O }>;
  read?(id: string, props?: O): Promise<{ id?: string; props?: O }>;
  update?(id: string, olds: O, news: I): Promise<{ outs: O }>;
  delete?(id: string, props: O): Promise<void>;
}

// The wire's markers (@pulumi/pulumi/runtime/rpc.js): a secret is an object with this signature.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** What the engine sends for a value not known yet during a preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Keys the dynamic providers' states carry that no handler knows. */
const LEGACY_KEYS = new Set(["__provider"]);

function isSecret(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG
  );
}

/** `value` with every secret replaced by what it holds, and the legacy keys dropped. */
export function plain(value: unknown): unknown {
  if (isSecret(value)) {
    return plain(value.value);
  }
  if (Array.isArray(value)) {
    return value.map(plain);
  }
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !LEGACY_KEYS.has(k))
        .map(([k, v]) => [k, plain(v)]),
    );
  }
  return value;
}

/** The top-level keys of `wire` that are secret (or hold a secret). */
export function secretKeys(wire: unknown): Set<string> {
  const keys = new Set<string>();
  if (typeof wire === "object" && wire !== null) {
    for (const [k, v] of Object.entries(wire)) {
      if (JSON.stringify(v)?.includes(SECRET_SIG)) {
        keys.add(k);
      }
    }
  }
  return keys;
}

/** `outs` with each key in `keys` marked secret, so what came in secret leaves secret. */
export function asSecrets<O>(outs: O, keys: ReadonlySet<string>): O {
  if (typeof outs !== "object" || outs === null || keys.size === 0) {
    return outs;
  }
  return Object.fromEntries(
    Object.entries(outs).map(([k, v]) =>
      keys.has(k) && v !== undefined && !isSecret(v)
        ? [k, { [SIG_KEY]: SECRET_SIG, value: v }]
        : [k, v],
    ),
  ) as O;
}
