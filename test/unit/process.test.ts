// The one process runner (adapters/process.ts): output, failures in the user's words, timeouts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UserError } from "../../domain/errors";
import { runProcess, startProcess } from "../../adapters/process";

void describe("runProcess", () => {
  test("resolves with the output of a program that exits 0", async () => {
    const result = await runProcess(process.execPath, [
      "-e",
      "console.log('out'); console.error('err')",
    ]);
    assert.deepEqual(result, { stdout: "out\n", stderr: "err\n" });
  });

  test("a failure names what ran, how it ended and the end of its stderr", async () => {
    await assert.rejects(
      runProcess(process.execPath, ["-e", "console.error('no such table'); process.exit(3)"], {
        what: "the check",
      }),
      new UserError("the check failed with exit status 3: no such table"),
    );
  });

  test("a missing program is named with the package that brings it", async () => {
    await assert.rejects(
      runProcess("pg_rewind_missing", [], { what: "pg_rewind_missing of x" }),
      new UserError(
        "pg_rewind_missing of x failed: pg_rewind_missing is not installed or not on PATH " +
          "(on Debian: apt-get install postgresql-client)",
      ),
    );
  });

  test("a program that runs longer than its timeout is stopped", async () => {
    const started = Date.now();
    await assert.rejects(
      runProcess(process.execPath, ["-e", "setTimeout(() => {}, 10000)"], {
        what: "sleep",
        timeoutMs: 200,
      }),
      new UserError("sleep failed with a timeout after 0.2 s"),
    );
    assert.ok(Date.now() - started < 5_000);
  });
});

void describe("startProcess", () => {
  test("stdin and stdout as pipes for a pipeline", async () => {
    const cat = startProcess(process.execPath, ["-e", "process.stdin.pipe(process.stdout)"], {
      stdin: "pipe",
      stdout: "pipe",
    });
    let seen = "";
    cat.stdout?.on("data", (chunk: Buffer) => (seen += chunk.toString("utf8")));
    cat.stdin?.end("through\n");
    const exit = await cat.exited;
    assert.equal(exit.ok, true);
    assert.equal(seen, "through\n");
    assert.equal(cat.running, false);
  });
});
