// `void` before describe/test: node:test awaits them itself; no-floating-promises cannot know.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, InternalError, UserError, describeConfigIssue } from "../../domain/errors";

describe("error kinds", () => {
  test("user errors and internal errors are distinct kinds, each with its own name", () => {
    // The CLI prints a UserError's message and an InternalError's stack; they must not mix.
    const user = new UserError("fix your config");
    const internal = new InternalError("broken invariant", { cause: user });
    assert.equal(user instanceof InternalError, false);
    assert.equal(internal instanceof UserError, false);
    assert.equal(user.name, "UserError");
    assert.equal(internal.name, "InternalError");
    assert.equal(internal.cause, user);
    assert.match(internal.stack ?? "", /^InternalError: broken invariant\n/);
  });

  test("a ConfigError keeps a real stack trace", () => {
    const error = new ConfigError("prod", [
      { key: "rewind:target", kind: "invalid", value: '"nomad"', allowed: "docker" },
    ]);
    assert.match(error.stack ?? "", /^ConfigError: stack "prod": rewind:target/);
    assert.equal(error.stackName, "prod");
  });

  test("a ConfigError without issues is a bug", () => {
    assert.throws(() => new ConfigError("prod", []), {
      name: "InternalError",
      message: "ConfigError needs at least one issue",
    });
  });
});

describe("describeConfigIssue", () => {
  test("each kind reads as one sentence", () => {
    assert.equal(
      describeConfigIssue({
        key: "rewind:app.port",
        kind: "invalid",
        value: "80",
        allowed: "≥ 1024",
      }),
      "rewind:app.port is 80; allowed: ≥ 1024",
    );
    assert.equal(
      describeConfigIssue({ key: "rewind:app.port", kind: "missing", allowed: "≥ 1024" }),
      "rewind:app.port is missing; allowed: ≥ 1024",
    );
    assert.equal(
      describeConfigIssue({ key: "rewind:app.prot", kind: "unknown-key", allowed: "name, port" }),
      "rewind:app.prot is an unknown key; allowed keys: name, port",
    );
    assert.equal(
      describeConfigIssue({ key: "rewind:app.env.1X", kind: "invalid-key", allowed: "a name" }),
      "rewind:app.env.1X is not an allowed key; allowed: a name",
    );
  });
});
