import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../domain/config";
import {
  applyLeafPins,
  checkDistinct,
  describePins,
  formatPath,
  leafCommands,
  parseSet,
  pinCommands,
  pinConfig,
  rawConfig,
  withRevisionList,
} from "../../cli/configPins";
import { UsageError } from "../../cli/options";
import { StackConfig, readPins } from "../../domain/pins";
import { configOf } from "./cliFixtures";

const current = configOf({ version: "1.2.0", revision: "0003" });
const target = configOf({ version: "1.1.0", revision: "0002" });

describe("pinConfig", () => {
  test("rewrites only the namespaces that differ; secret leaves go back as secrets", () => {
    const writes = pinConfig(current, target);
    assert.deepEqual(writes.changed, ["rewind:app", "rewind:database"]);
    assert.deepEqual(writes.remove, []);
    assert.deepEqual(Object.keys(writes.plain).sort(), ["rewind:app", "rewind:database"]);
    // The plain part no longer holds the secret leaves...
    assert.deepEqual(writes.plain["rewind:database"].objectValue, {
      migrations: { tool: "sql", dir: "examples/hunter/migrations" },
      revision: "0002",
    });
    assert.equal(
      (writes.plain["rewind:app"].objectValue as Record<string, unknown>).env,
      undefined,
    );
    // ...which are written with --secret, one path each.
    assert.deepEqual(writes.secretLeaves, {
      "rewind:database.url": "postgres://rewind:pw@127.0.0.1:5432/hunter",
      "rewind:app.env.API_KEY": "k-123",
    });
    assert.deepEqual(writes.secretKeys, {});
    assert.deepEqual(writes.notes, []);
  });

  test("keys only the current config has are removed; other programs' keys are left alone", () => {
    const withExtra: StackConfig = {
      ...current,
      "rewind:extra": { value: "x" },
      "other:key": { value: "changed" },
    };
    const writes = pinConfig(withExtra, target);
    assert.deepEqual(writes.remove, ["rewind:extra"]);
    assert.equal("other:key" in writes.plain, false);
  });

  test("the same config writes nothing", () => {
    const writes = pinConfig(target, configOf({ version: "1.1.0", revision: "0002" }));
    assert.deepEqual(pinCommands(writes, "dev"), []);
    assert.deepEqual(writes.changed, []);
  });

  test("a secret namespace without a known secret leaf is written as one secret, never plain", () => {
    const secretGate: StackConfig = {
      "rewind:gate": {
        value: '{"sql":[{"query":"select secret"}]}',
        objectValue: { sql: [{ query: "select secret" }] },
        secret: true,
      },
    };
    const writes = pinConfig({}, secretGate);
    assert.deepEqual(writes.plain, {});
    assert.deepEqual(writes.secretKeys, { "rewind:gate": '{"sql":[{"query":"select secret"}]}' });
    assert.match(writes.notes[0], /^rewind:gate is written as one secret/);
  });

  test("the registry password is a secret leaf of its own; the rest of rewind:app stays plain", () => {
    const app = {
      name: "hunter",
      version: "1.0.0",
      registry: { username: "team", password: "pw-registry-1" },
    };
    const writes = pinConfig(
      {},
      { "rewind:app": { value: JSON.stringify(app), objectValue: app, secret: true } },
    );
    assert.deepEqual(writes.secretLeaves, { "rewind:app.registry.password": "pw-registry-1" });
    assert.equal(JSON.stringify(writes.plain).includes("pw-registry-1"), false);
    assert.deepEqual(writes.secretKeys, {});
  });

  test('a secret leaf Pulumi would re-type ("8000" → 8000) keeps the namespace whole', () => {
    const numeric = configOf({ version: "1.1.0", revision: "0002", env: { PORT: "8000" } });
    const writes = pinConfig({}, numeric);
    assert.equal("rewind:app" in writes.plain, false);
    assert.equal(JSON.parse(writes.secretKeys["rewind:app"]).env.PORT, "8000");
    // The database namespace still splits: its URL is safe as text.
    assert.equal(
      writes.secretLeaves["rewind:database.url"],
      "postgres://rewind:pw@127.0.0.1:5432/hunter",
    );
  });

  test("commands: removals, one set-all --json, then each secret on stdin, never in argv", () => {
    const writes = pinConfig({ ...current, "rewind:extra": { value: "x" } }, target);
    const commands = pinCommands(writes, "dev", "/tmp/copy.yaml");
    const target_ = ["--stack", "dev", "--config-file", "/tmp/copy.yaml"];
    assert.deepEqual(commands[0], { args: ["config", "rm-all", ...target_, "rewind:extra"] });
    assert.deepEqual(commands[1].args.slice(0, 7), ["config", "set-all", ...target_, "--json"]);
    const json = JSON.parse(commands[1].args[7]) as Record<
      string,
      { value: string; objectValue: unknown; secret: boolean }
    >;
    assert.equal(json["rewind:database"].secret, false);
    assert.equal(JSON.parse(json["rewind:database"].value).revision, "0002");
    const secrets = commands.slice(2);
    assert.deepEqual(
      secrets.map((c) => [c.args.slice(0, 6).join(" "), c.args.slice(6), c.stdin]),
      [
        ["config set --path --secret --raw rewind:app.env.API_KEY", target_, "k-123"],
        [
          "config set --path --secret --raw rewind:database.url",
          target_,
          "postgres://rewind:pw@127.0.0.1:5432/hunter",
        ],
      ],
    );
    const argv = commands.flatMap((c) => c.args).join(" ");
    assert.doesNotMatch(argv, /pw@|k-123/);
  });

  test("paths quote segments that are not identifiers", () => {
    assert.equal(formatPath("rewind:app", ["env", "API_KEY"]), "rewind:app.env.API_KEY");
    assert.equal(formatPath("rewind:gate", ["smoke", 0, "path"]), "rewind:gate.smoke[0].path");
    assert.equal(formatPath("rewind:x", ["a.b"]), 'rewind:x["a.b"]');
  });
});

describe("parseSet", () => {
  test("keeps the current type: a revision stays text, replicas a number", () => {
    const revision = parseSet("rewind:database.revision=0002", current);
    assert.deepEqual(
      { value: revision.value, type: revision.type, secret: revision.secret },
      { value: "0002", type: "string", secret: false },
    );
    const replicas = parseSet("rewind:app.replicas=3", current);
    assert.deepEqual([replicas.value, replicas.type], [3, "int"]);
    assert.deepEqual(parseSet("rewind:app.version=2", current).value, "2");
  });

  test("a new leaf is typed as Pulumi would type it", () => {
    assert.deepEqual(parseSet("rewind:gate.enabled=false", current).value, false);
    assert.deepEqual(parseSet("rewind:app.health.timeoutSeconds=90", current).value, 90);
    assert.deepEqual(parseSet("rewind:restore.snapshot=snap-1", current).value, "snap-1");
  });

  test("the database URL is always a secret; --set-secret makes any leaf one", () => {
    const url = parseSet("rewind:database.url=postgres://u:p@h/db?sslmode=require", current);
    assert.deepEqual(
      [url.secret, url.type, url.value],
      [true, undefined, "postgres://u:p@h/db?sslmode=require"],
    );
    assert.equal(parseSet("rewind:app.env.TOKEN=abc", current, true).secret, true);
    assert.equal(parseSet("rewind:app.env.LOG_LEVEL=debug", current).secret, false);
  });

  test("bad input is a usage error naming the fix", () => {
    assert.throws(() => parseSet("rewind:app.version", current), UsageError);
    assert.throws(() => parseSet("app.version=1", current), {
      message:
        "--set app.version: not a Rewind config key; keys are <namespace>.<path> with a namespace of " +
        "rewind:app, rewind:database, rewind:backup, rewind:restore, rewind:gate, rewind:target, " +
        "rewind:kubernetes, e.g. rewind:app.version",
    });
    assert.throws(() => parseSet("rewind:app.replicas=two", current), {
      message: "--set rewind:app.replicas=two: the current value is a number, so this must be too",
    });
    assert.throws(() => parseSet("rewind:app.env.API_KEY=8000", current, true), {
      message:
        '--set rewind:app.env.API_KEY: Pulumi would store the secret text "8000" as a number ' +
        "(secrets cannot carry a type); set it by hand with pulumi config set --secret",
    });
    assert.throws(
      () =>
        checkDistinct([
          parseSet("rewind:app.version=1", current),
          parseSet("rewind:app.version=2", current),
        ]),
      { message: "--set rewind:app.version is given twice; give each key once" },
    );
  });

  test("commands carry --type for plain leaves and --secret alone for secrets", () => {
    const pins = [
      parseSet("rewind:app.version=1.1.0", current),
      parseSet("rewind:database.revision=0002", current),
      parseSet("rewind:database.url=postgres://u:p@h/db", current),
    ];
    assert.deepEqual(leafCommands(pins, "dev"), [
      {
        args: [
          "config",
          "set",
          "--path",
          "--type",
          "string",
          "rewind:app.version",
          "--stack",
          "dev",
          "--",
          "1.1.0",
        ],
      },
      {
        args: [
          "config",
          "set",
          "--path",
          "--type",
          "string",
          "rewind:database.revision",
          "--stack",
          "dev",
          "--",
          "0002",
        ],
      },
      {
        args: [
          "config",
          "set",
          "--path",
          "--secret",
          "--raw",
          "rewind:database.url",
          "--stack",
          "dev",
        ],
        stdin: "postgres://u:p@h/db",
      },
    ]);
    assert.equal(
      describePins(pins),
      "--set rewind:app.version=1.1.0 --set rewind:database.revision=0002 --set rewind:database.url=[secret]",
    );
  });

  test("the pinned config validates with the program's own schema before anything is written", () => {
    const good = applyLeafPins(current, [parseSet("rewind:app.version=1.1.0", current)]);
    assert.equal(parseConfig("dev", rawConfig(good)).app.version, "1.1.0");
    const bad = applyLeafPins(current, [parseSet("rewind:app.version=latest", current)]);
    assert.throws(() => parseConfig("dev", rawConfig(bad)), /rewind:app\.version is "latest"/);
    const list = applyLeafPins(current, [parseSet("rewind:gate.smoke[1].path=/live", current)]);
    assert.deepEqual(parseConfig("dev", rawConfig(list)).gate.smoke[1], {
      path: "/live",
      expectStatus: 200,
    });
  });
});

describe("withRevisionList", () => {
  test("replaces the Alembic list and keeps the rest of the namespace, still secret", () => {
    const database = {
      url: "postgres://rewind:pw@127.0.0.1:5432/hunter",
      migrations: { tool: "alembic", dir: "/srv/hunter", revisions: ["ae1027a6acf"] },
      revision: "ae1027a6acf",
    };
    const config: StackConfig = {
      ...target,
      "rewind:database": { value: JSON.stringify(database), objectValue: database, secret: true },
    };
    const next = withRevisionList(config, ["ae1027a6acf", "27c6a30d7c24"]);
    assert.deepEqual(next["rewind:database"].objectValue, {
      ...database,
      migrations: { ...database.migrations, revisions: ["ae1027a6acf", "27c6a30d7c24"] },
    });
    assert.equal(next["rewind:database"].secret, true);
    assert.deepEqual(readPins(next).migrationsRevisions, ["ae1027a6acf", "27c6a30d7c24"]);
    assert.equal(next["rewind:app"], config["rewind:app"]);
    assert.deepEqual(database.migrations.revisions, ["ae1027a6acf"], "the input is not changed");
  });
});
