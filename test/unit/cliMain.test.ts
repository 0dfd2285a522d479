// The command line's own decisions, before any engine call: help, unknown input, exit 2 for
// bad arguments, and no rollback without a terminal or --yes.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { COMMANDS, main } from "../../cli/main";
import { CliIo, ExitCode } from "../../cli/options";

function fakeIo(
  env: Record<string, string> = {},
  interactive = false,
): CliIo & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    // A project directory without Pulumi.yaml: any engine call would fail loudly.
    env: { REWIND_PROJECT_DIR: "/nonexistent/rewind-project", ...env },
    interactive,
    ask: () => Promise.reject(new Error("asked a question")),
    now: () => new Date(0),
  };
  return io;
}

describe("rewind", () => {
  test("--help lists every command and the exit codes", async () => {
    const io = fakeIo();
    assert.equal(await main(["--help"], io), ExitCode.ok);
    for (const c of ["status", "history", "plan", "rollback", "release", "report"]) {
      assert.match(io.out, new RegExp(`^  ${c} `, "m"));
    }
    assert.match(io.out, /3 {2}failed and not rolled back/);
  });

  test("every subcommand has --help, --stack and --quiet; data commands have --json", async () => {
    // init writes files and gate streams a preview: neither has data to print as JSON.
    const withoutData = ["init", "gate"];
    for (const command of COMMANDS) {
      const io = fakeIo();
      assert.equal(await main([command.name, "--help"], io), ExitCode.ok, command.name);
      assert.match(io.out, /^Usage: rewind /, command.name);
      assert.match(io.out, /--stack S/, command.name);
      assert.match(io.out, /--quiet/, command.name);
      if (!withoutData.includes(command.name)) {
        assert.match(io.out, /--json/, command.name);
      }
    }
  });

  test("no command, an unknown command or an unknown option is bad input", async () => {
    assert.equal(await main([], fakeIo()), ExitCode.badInput);
    const unknown = fakeIo();
    assert.equal(await main(["rollforward"], unknown), ExitCode.badInput);
    assert.match(unknown.err, /^rewind: unknown command "rollforward"/);
    const option = fakeIo();
    assert.equal(await main(["history", "--colour"], option), ExitCode.badInput);
    assert.match(option.err, /^rewind history: Unknown option '--colour'/);
  });

  test("missing or malformed values are bad input", async () => {
    const noTo = fakeIo();
    assert.equal(await main(["plan"], noTo), ExitCode.badInput);
    assert.match(
      noTo.err,
      /--to-update N, --to-version V or --to-time T is required: the update, app version or time to roll back to/,
    );
    const limit = fakeIo();
    assert.equal(await main(["history", "--limit", "0"], limit), ExitCode.badInput);
    assert.match(limit.err, /--limit 0: expected a whole number of at least 1/);
    const update = fakeIo();
    assert.equal(await main(["report", "--update", "last"], update), ExitCode.badInput);
    const notify = fakeIo();
    assert.equal(
      await main(["report", "--notify", "file:///etc/passwd"], notify),
      ExitCode.badInput,
    );
    assert.match(notify.err, /only http and https webhooks are supported/);
    const stack = fakeIo();
    assert.equal(await main(["history", "--stack", "a b"], stack), ExitCode.badInput);
  });

  test("rollback without a terminal and without --yes stops before touching anything", async () => {
    const io = fakeIo({}, false);
    assert.equal(await main(["rollback", "--to", "7"], io), ExitCode.badInput);
    assert.equal(
      io.err,
      "rewind rollback: refusing to roll back without confirmation: there is no terminal to ask on; " +
        "pass --yes to roll back non-interactively (rewind plan shows what would happen)\n",
    );
  });

  test("rewind init refuses before it writes anything", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-init-"));
    try {
      const badName = fakeIo({ PULUMI_CONFIG_PASSPHRASE: "x" });
      assert.equal(await main(["init", "--dir", dir, "--name", "Shop_1"], badName), 2);
      assert.match(badName.err, /--name "Shop_1" is not a DNS label/);
      const noPassphrase = fakeIo();
      assert.equal(await main(["init", "--dir", dir, "--name", "shop"], noPassphrase), 2);
      assert.match(
        noPassphrase.err,
        /set PULUMI_CONFIG_PASSPHRASE \(or PULUMI_CONFIG_PASSPHRASE_FILE\)/,
      );
      assert.deepEqual(fs.readdirSync(dir), []);
      fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: theirs\n");
      const exists = fakeIo({ PULUMI_CONFIG_PASSPHRASE: "x" });
      assert.equal(await main(["init", "--dir", dir], exists), 2);
      assert.match(
        exists.err,
        /Pulumi\.yaml exists already; rewind init --force overwrites what it wrote/,
      );
      assert.equal(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"), "name: theirs\n");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a project directory without Pulumi.yaml is bad input, named", async () => {
    const io = fakeIo({ REWIND_STACK: "dev" });
    assert.equal(await main(["history"], io), ExitCode.badInput);
    assert.equal(
      io.err,
      "rewind history: /nonexistent/rewind-project is not a Pulumi project (no Pulumi.yaml); " +
        "run rewind init there, or run rewind from the project's folder (or set " +
        "REWIND_PROJECT_DIR)\n",
    );
  });
});
