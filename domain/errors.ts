// Two kinds of failure, kept apart so the CLI can treat them differently: a UserError is
// printed as-is (its message names the input and the fix), an InternalError is a bug in Rewind
// and is shown with its stack.

/**
 * An error the user caused and can fix: bad config, a malformed migration directory, a revision
 * that does not exist. The message is written for the user and is shown without a stack.
 */
export class UserError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    // Subclasses get their own name without repeating this line.
    this.name = new.target.name;
  }
}

/**
 * A UserError caused by one named input of a call (a field of a query, a resource's input), so
 * the caller can name the config key it came from.
 */
export class InputError extends UserError {
  constructor(
    readonly input: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A bug in Rewind (a broken invariant), not something the user can fix by changing input. */
export class InternalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** What is wrong with one config key. */
export interface ConfigIssue {
  /** The full key, e.g. `rewind:app.replicas` or `rewind:app.services[1].port`. */
  readonly key: string;
  /**
   * `invalid`: the value is not allowed; `missing`: a required key is absent;
   * `unknown-key`: the key is not part of the schema (a typo, usually);
   * `invalid-key`: a map key (e.g. an env variable name) is not allowed.
   */
  readonly kind: "invalid" | "missing" | "unknown-key" | "invalid-key";
  /** The offending value as the user wrote it (JSON), or `[secret]` for secrets. */
  readonly value?: string;
  /** What would be accepted instead, in words. */
  readonly allowed: string;
}

/** Renders one issue as the sentence the user reads (without the stack prefix). */
export function describeConfigIssue(issue: ConfigIssue): string {
  switch (issue.kind) {
    case "invalid":
      return `${issue.key} is ${issue.value ?? "invalid"}; allowed: ${issue.allowed}`;
    case "missing":
      return `${issue.key} is missing; allowed: ${issue.allowed}`;
    case "unknown-key":
      return `${issue.key} is an unknown key; allowed keys: ${issue.allowed}`;
    case "invalid-key":
      return `${issue.key} is not an allowed key; allowed: ${issue.allowed}`;
    default: {
      const unexpected: never = issue.kind;
      throw new InternalError(`unknown config issue kind ${String(unexpected)}`);
    }
  }
}

/**
 * A stack's config does not validate. The message has one line per issue, each naming the
 * stack, the full key, the bad value (masked for secrets) and what is allowed, e.g.
 * `stack "prod": rewind:app.replicas is 0; allowed: an integer of at least 1`.
 */
export class ConfigError extends UserError {
  /** The stack whose config failed (not `stack`: that is the error's stack trace). */
  readonly stackName: string;
  /** Every problem found, in schema order; never empty. */
  readonly issues: readonly ConfigIssue[];

  constructor(stack: string, issues: readonly ConfigIssue[]) {
    if (issues.length === 0) {
      throw new InternalError("ConfigError needs at least one issue");
    }
    super(issues.map((i) => `stack "${stack}": ${describeConfigIssue(i)}`).join("\n"));
    this.stackName = stack;
    this.issues = issues;
  }
}
