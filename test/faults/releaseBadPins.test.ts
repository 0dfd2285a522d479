// Bad pins through `rewind release` (issue 10, defect 5): the release previews the pins with
// the policy pack before its update, so a pin the config schema, the program, a resource's
// check or the pack refuses exits 2 naming the key and what is allowed, with no update in the
// stack's history, no automatic rollback, and the config file as it was, byte for byte. One
// deployed stack; each case is one `rewind release` run as a user runs it.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { listContainers, engine } from "../../adapters/docker";
import { expectCode, rewind } from "../integration/rewindCli";
import { repoRoot } from "../integration/workspace";
import { FaultStack, deployFaultStack, historyLength, observe } from "./harness";

interface Case {
  name: string;
  /** The release's arguments after `release`. */
  args: string[];
  /** Writes this text as the stack's config file first (and puts the original back after). */
  file?: string;
  /** What stderr must say: the key, and what is allowed. */
  says: RegExp[];
}

const cases: Case[] = [
  {
    name: "a version not in the registry",
    args: ["--set", "rewind:app.version=9.9.9"],
    says: [/^ {2}rewind:app\.version$/m, /9\.9\.9/, /1\.0\.0/],
  },
  {
    name: "a revision that does not exist",
    args: ["--set", "rewind:database.revision=0042"],
    says: [
      /^ {2}rewind:database\.revision$/m,
      /"0042" is unknown; known revisions: base, 0001, 0002, 0003/,
    ],
  },
  {
    name: "a snapshot that does not exist",
    args: ["--set", "rewind:restore.snapshot=20250101T000000Z-nope-0001-abcdef"],
    says: [
      /^ {2}rewind:restore\.snapshot$/m,
      /snapshot "20250101T000000Z-nope-0001-abcdef" does not exist in the backup store/,
    ],
  },
  {
    name: "a snapshot id the store rejects (x..)",
    args: ["--set", "rewind:restore.snapshot=x.."],
    says: [/rewind:restore\.snapshot is "x\.\."/, /a snapshot id from the backup store/],
  },
  {
    name: "a missing migrations directory",
    args: ["--set", "rewind:database.migrations.dir=examples/hunter/no-such-migrations"],
    says: [/^ {2}rewind:database\.migrations\.dir$/m, /no-such-migrations/, /does not exist/],
  },
  {
    name: "rewind:target kubernetes without its settings",
    args: ["--set", "rewind:target=kubernetes"],
    says: [/rewind:(target|kubernetes)/, /docker|kubernetes/],
  },
  {
    name: "a stack file that is not a map",
    args: [],
    file: "- just\n- a list\n",
    says: [/Pulumi\.fault-release-[^ ]*\.yaml/, /map/],
  },
  {
    name: "a database URL without a password",
    args: ["--set-secret", "rewind:database.url=postgres://rewind@127.0.0.1:1/db"],
    says: [/rewind:database\.url is \[secret\]/, /with its password/],
  },
];

describe("bad pins through rewind release: exit 2, the key named, nothing changed", () => {
  let s: FaultStack;
  let original: Buffer;
  let history: number;
  const running = async () =>
    (await listContainers(engine(), { "rewind.stack": `rewind/${s.stack.name}` }))
      .filter((c) => c.state === "running")
      .map((c) => c.id)
      .sort();

  before(async () => {
    s = await deployFaultStack("fault-release", 0);
    original = fs.readFileSync(s.configFile);
    history = await historyLength(s.stack);
  });

  after(async () => {
    if (s) fs.writeFileSync(s.configFile, original);
    await s?.dispose();
  });

  for (const c of cases) {
    test(c.name, async () => {
      const seen = await observe(s);
      const containers = await running();
      const file = c.file === undefined ? original : Buffer.from(c.file);
      fs.writeFileSync(s.configFile, file);
      const t0 = Date.now();
      let result;
      try {
        result = await rewind(repoRoot, s.stack.name, "release", ...c.args);
        assert.ok(fs.readFileSync(s.configFile).equals(file), "the config file, byte for byte");
      } finally {
        fs.writeFileSync(s.configFile, original);
      }
      console.log(`# ${c.name}: exit ${result.code} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      expectCode(result, 2, c.name);
      for (const says of c.says) assert.match(result.stderr, says, result.stderr);
      assert.doesNotMatch(result.stderr, /Rolling back|Release FAILED/);
      assert.equal(await historyLength(s.stack), history, "no update in the history");
      assert.deepEqual(await observe(s), seen);
      assert.deepEqual(await running(), containers);
    });
  }

  test("a good pin passes the same preview and is released", async () => {
    const result = await rewind(
      repoRoot,
      s.stack.name,
      "release",
      "--set",
      "rewind:app.replicas=3",
    );
    expectCode(result, 0, "release of 3 replicas");
    assert.equal(await historyLength(s.stack), history + 1);
    assert.equal((await running()).length, 3 + 1);
  });
});
