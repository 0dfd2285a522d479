// Bad pins and malformed configs are refused by `pulumi preview` already (issue 10, defect 5):
// during the program's config check or a provider's `check`, naming the key and what is
// allowed, before any resource changes. One deployed stack, many previews; each case changes
// the stack's config file, previews, and puts the file back byte for byte.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { ConfigValue } from "@pulumi/pulumi/automation";
import { listContainers, engine } from "../../adapters/docker";
import { FaultStack, deployFaultStack, observe } from "./harness";

interface Case {
  name: string;
  /** Config to set (`--path`), plain strings or ConfigValues. */
  set?: Record<string, string | ConfigValue>;
  remove?: string[];
  /** Rewrites the stack file's text instead. */
  text?: (original: string) => string;
  /** What the message must say: the key, and what is allowed. */
  says: RegExp[];
}

const KEY = (key: string) => new RegExp(key.replace(/[.[\]]/g, "\\$&"));

const cases: Case[] = [
  // The eight of issue 10.
  {
    name: "a version not in the registry",
    set: { "rewind:app.version": "9.9.9" },
    says: [/9\.9\.9/, /version/],
  },
  {
    name: "a revision that does not exist",
    set: { "rewind:database.revision": "0042" },
    says: [/"0042" is unknown; known revisions: base, 0001, 0002, 0003/],
  },
  {
    name: "a snapshot that does not exist",
    set: { "rewind:restore.snapshot": "20250101T000000Z-nope-0001-abcdef" },
    says: [/snapshot "20250101T000000Z-nope-0001-abcdef" does not exist in the backup store/],
  },
  {
    name: "a snapshot id the store rejects (x..), which the config now refuses too",
    set: { "rewind:restore.snapshot": "x.." },
    says: [
      /"x\.\." is not a snapshot id|rewind:restore\.snapshot is "x\.\."/,
      /a snapshot id from the backup store/,
    ],
  },
  {
    name: "a missing migrations directory",
    set: { "rewind:database.migrations.dir": "examples/hunter/no-such-migrations" },
    says: [/no-such-migrations/],
  },
  {
    name: "target kubernetes without its rewind:kubernetes block",
    set: { "rewind:target": "kubernetes" },
    says: [KEY("rewind:kubernetes"), /kubeconfig, namespace/],
  },
  {
    name: "a stack file that is not a map",
    text: () => "- just\n- a list\n",
    says: [/Pulumi\.fault-config-[^ ]*\.yaml|yaml|config/i],
  },
  {
    name: "a database URL without a password",
    set: { "rewind:database.url": { value: "postgres://rewind@127.0.0.1:1/db", secret: true } },
    says: [KEY("rewind:database.url is [secret]"), /with its password/, /config set --secret/],
  },
  {
    // The config's image grammar takes Docker Hub short names; AppService refuses them. Its
    // message names the value and the component, not yet the key.
    name: "rewind:app.image without a registry host",
    set: { "rewind:app.image": "UPPER/case" },
    says: [/AppService "hunter-app": image "UPPER\/case" names no registry host; allowed:/],
  },
  // The schema, one key at a time.
  ...(
    [
      ["rewind:app.name", "Hunter", /DNS label/],
      ["rewind:app.name", "-hunter", /DNS label/],
      ["rewind:app.image", "127.0.0.1:1/hunter:1.0.0", /without tag or digest/],
      ["rewind:app.version", "latest", /not "latest"/],
      ["rewind:app.version", "1.0.0 beta", /immutable image tag/],
      ["rewind:app.replicas", "0", /at least 1/],
      ["rewind:app.replicas", "two", /at least 1/],
      ["rewind:app.port", "80", /1024 to 65535/],
      ["rewind:app.port", "70000", /1024 to 65535/],
      ["rewind:app.protect", "maybe", /true or false/],
      ["rewind:app.colour", "blue", /keys/],
      ["rewind:app.health.timeoutSeconds", "0", /seconds, at least 1/],
      ["rewind:app.health.ready", "healthz", /starting with "\/"/],
      ["rewind:database.revision", "1", /revision/],
      ["rewind:database.migrations.tool", "flyway", /sql|alembic/],
      ["rewind:database.lockTimeoutSeconds", "0", /seconds, at least 1/],
      ["rewind:backup.store.kind", "s3", /"fs"/],
      ["rewind:backup.store.path", " ", /non-empty/],
      ["rewind:backup.beforeMigration", "sometimes", /true or false/],
      ["rewind:gate.enabled", "perhaps", /true or false/],
      ["rewind:gate.sql[0].minRows", "-1", /integer/],
      ["rewind:restore.snapshot", "../../etc", /snapshot/],
      ["rewind:target", "mars", /docker|kubernetes/],
      ["rewind:colour", "blue", /rewind:app|namespace/],
    ] as const
  ).map(([key, value, allowed]): Case => ({
    name: `${key} = ${JSON.stringify(value)}`,
    set: { [key]: value },
    says: [KEY(key.replace(/\[0\].*/, "")), allowed],
  })),
];

describe("malformed configs are refused by pulumi preview, and nothing changes", () => {
  let s: FaultStack;
  let original: string;
  let history: number;
  let containers: string[];
  const runningContainers = async () =>
    (await listContainers(engine(), { "rewind.stack": `rewind/${s.stack.name}` }))
      .filter((c) => c.state === "running")
      .map((c) => c.id)
      .sort();

  before(async () => {
    s = await deployFaultStack("fault-config", 0);
    original = fs.readFileSync(s.configFile, "utf8");
    history = (await s.stack.history()).length;
    containers = await runningContainers();
  });

  after(async () => {
    if (s) fs.writeFileSync(s.configFile, original);
    await s?.dispose();
  });

  test(`at least 30 cases (${cases.length})`, () => {
    assert.ok(cases.length >= 30);
  });

  for (const c of cases) {
    test(c.name, async () => {
      const before = await observe(s);
      let output = "";
      try {
        if (c.set) {
          await s.stack.setAllConfig(
            Object.fromEntries(
              Object.entries(c.set).map(([k, v]) => [k, typeof v === "string" ? { value: v } : v]),
            ),
            true,
          );
        }
        for (const key of c.remove ?? []) await s.stack.removeConfig(key, true);
        if (c.text) fs.writeFileSync(s.configFile, c.text(original));
        const t0 = Date.now();
        try {
          await s.stack.preview({ onOutput: (o) => (output += o) });
          assert.fail(`pulumi preview accepted ${c.name}:\n${output}`);
        } catch (error) {
          output += (error as Error).message;
        }
        console.log(`# ${c.name}: preview failed in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      } finally {
        fs.writeFileSync(s.configFile, original);
      }
      for (const says of c.says) assert.match(output, says, output);
      assert.deepEqual(await observe(s), before);
      assert.deepEqual(await runningContainers(), containers);
    });
  }

  test("no update in the history, nothing changed", async () => {
    assert.equal((await s.stack.history()).length, history);
    const now = await observe(s);
    assert.equal(now.served, "1.0.0");
    assert.equal(now.revision, "0001");
    assert.deepEqual(await runningContainers(), containers);
    assert.equal(fs.readFileSync(s.configFile, "utf8"), original);
  });
});
