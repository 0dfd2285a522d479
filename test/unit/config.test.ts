// `void` before describe/test: node:test awaits them itself; no-floating-promises cannot know.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { RewindConfig, parseConfig } from "../../domain/config";
import { ConfigError, UserError } from "../../domain/errors";

const URL = "postgres://hunter:s3cr3t-pw@127.0.0.1:55432/hunter";
const KUBECONFIG = "apiVersion: v1\nkind: Config\nusers: [{name: admin, user: {token: s3cr3t}}]";

// The example config: the happy path every test below changes in one place.
function valid(): Record<string, Record<string, unknown> | string> {
  return {
    "rewind:app": {
      name: "hunter",
      image: "127.0.0.1:5000/hunter",
      version: "1.1.0",
      replicas: 2,
      port: 8000,
      health: { live: "/healthz/live", ready: "/healthz/ready", timeoutSeconds: 60 },
    },
    "rewind:database": {
      url: URL,
      migrations: { tool: "sql", dir: "migrations" },
      revision: "0008",
    },
    "rewind:backup": {
      store: { kind: "fs", path: "/var/backups/hunter" },
      beforeMigration: true,
      include: ["database", "volume:sessions"],
      retain: { days: 30, keepAtLeast: 5 },
    },
    "rewind:restore": { snapshot: null },
    "rewind:target": "docker",
  };
}

// Parses `valid()` with `namespace` changed by `change`, expecting exactly `message`.
function rejects(
  namespace: string,
  change: (value: Record<string, unknown>) => unknown,
  message: string,
): void {
  const raw = valid();
  const value = raw[namespace];
  raw[namespace] = change(
    typeof value === "object" ? structuredClone(value) : (value as never),
  ) as Record<string, unknown>;
  assert.throws(() => parseConfig("prod", raw), { name: "ConfigError", message });
}

// Parses `valid()` with `namespace` changed by `change`, expecting no error.
function accepts(namespace: string, change: (value: Record<string, unknown>) => unknown): void {
  const raw = valid();
  raw[namespace] = change(structuredClone(raw[namespace]) as Record<string, unknown>) as Record<
    string,
    unknown
  >;
  assert.doesNotThrow(() => parseConfig("prod", raw));
}

const set =
  (key: string, value: unknown) =>
  (o: Record<string, unknown>): Record<string, unknown> => ({ ...o, [key]: value });

const nested =
  (key: string, inner: string, value: unknown) =>
  (o: Record<string, unknown>): Record<string, unknown> => ({
    ...o,
    [key]: { ...(o[key] as Record<string, unknown>), [inner]: value },
  });

describe("parseConfig: a valid stack", () => {
  test("parses the example config and fills every default", () => {
    assert.deepEqual(parseConfig("prod", valid()), {
      app: {
        name: "hunter",
        image: "127.0.0.1:5000/hunter",
        version: "1.1.0",
        replicas: 2,
        port: 8000,
        protect: false,
        health: { live: "/healthz/live", ready: "/healthz/ready", timeoutSeconds: 60 },
        env: {},
        drainSeconds: 30,
      },
      database: {
        url: URL,
        migrations: { tool: "sql", dir: "migrations" },
        revision: "0008",
      },
      backup: {
        store: { kind: "fs", path: "/var/backups/hunter" },
        beforeMigration: true,
        include: ["database", "volume:sessions"],
        retain: { days: 30, keepAtLeast: 5 },
      },
      restore: { snapshot: null },
      gate: { enabled: true, smoke: [], sql: [] },
      target: "docker",
    } satisfies RewindConfig);
  });

  test("the smallest config gets the documented defaults", () => {
    const config = parseConfig("dev", {
      "rewind:app": { name: "hunter", image: "hunter", version: "1.0.0", port: 8000 },
      "rewind:database": {
        url: URL,
        migrations: { tool: "alembic", revisions: ["ae1027a6acf"] },
        revision: "ae1027a6acf",
      },
      "rewind:backup": { store: { kind: "fs", path: ".rewind/backups" } },
    });
    assert.deepEqual(config.app, {
      name: "hunter",
      image: "hunter",
      version: "1.0.0",
      replicas: 1,
      port: 8000,
      protect: false,
      health: { live: "/healthz/live", ready: "/healthz/ready", timeoutSeconds: 60 },
      env: {},
      drainSeconds: 30,
    });
    assert.deepEqual(config.database.migrations, { tool: "alembic", revisions: ["ae1027a6acf"] });
    assert.deepEqual(config.backup, {
      store: { kind: "fs", path: ".rewind/backups" },
      beforeMigration: true,
      include: ["database"],
      retain: { days: 30, keepAtLeast: 5 },
    });
    assert.deepEqual(config.restore, { snapshot: null });
    assert.deepEqual(config.gate, { enabled: true, smoke: [], sql: [] });
    assert.equal(config.target, "docker");
  });

  test("accepts JSON strings for structured namespaces, as the Automation API returns them", () => {
    const raw = valid();
    const asStrings = Object.fromEntries(
      Object.entries(raw).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    );
    assert.deepEqual(parseConfig("prod", asStrings), parseConfig("prod", raw));
  });

  test("accepts numbers and booleans written as strings (`config set --path`)", () => {
    const raw = valid();
    raw["rewind:app"] = { ...(raw["rewind:app"] as object), replicas: "3", port: "9000" };
    raw["rewind:gate"] = { enabled: "false", sql: [{ query: "SELECT 1", minRows: "0" }] };
    const config = parseConfig("prod", raw);
    assert.equal(config.app.replicas, 3);
    assert.equal(config.app.port, 9000);
    assert.deepEqual(config.gate, {
      enabled: false,
      smoke: [],
      sql: [{ query: "SELECT 1", minRows: 0 }],
    });
  });

  test("ignores other providers' keys", () => {
    assert.doesNotThrow(() => parseConfig("prod", { ...valid(), "docker:host": "unix:///x" }));
  });

  test("services, env, gate checks, command migrations and restore pins", () => {
    const raw = valid();
    raw["rewind:app"] = {
      ...(raw["rewind:app"] as object),
      env: { LOG_LEVEL: "info", _X: "" },
      services: [{ name: "worker", command: ["celery", "worker"], port: 8100 }],
    };
    raw["rewind:database"] = {
      url: URL,
      migrations: { tool: "command", up: ["./migrate", "up"], down: ["./migrate", "down"] },
      revision: "v12",
    };
    raw["rewind:restore"] = { snapshot: "snap-20250128T1200Z" };
    raw["rewind:gate"] = { smoke: [{ path: "/api/v1/leads" }], sql: [{ query: "SELECT 1" }] };
    raw["rewind:target"] = "kubernetes";
    raw["rewind:kubernetes"] = { kubeconfig: KUBECONFIG };
    raw["rewind:backup"] = { ...(raw["rewind:backup"] as object), include: ["database"] };
    const config = parseConfig("prod", raw);
    assert.deepEqual(config.kubernetes, { kubeconfig: KUBECONFIG, namespace: "default" });
    assert.deepEqual(config.app.services, [
      { name: "worker", command: ["celery", "worker"], replicas: 1, port: 8100 },
    ]);
    assert.deepEqual(config.app.env, { LOG_LEVEL: "info", _X: "" });
    assert.equal(config.restore.snapshot, "snap-20250128T1200Z");
    assert.deepEqual(config.gate.smoke, [{ path: "/api/v1/leads", expectStatus: 200 }]);
    assert.deepEqual(config.gate.sql, [{ query: "SELECT 1", minRows: 1 }]);
    assert.equal(config.target, "kubernetes");
  });

  test("image repositories with registry, port and path; tags and digests as version", () => {
    for (const image of ["hunter", "localhost:5000/hunter", "ghcr.io/acme/hunter-api", "a/b__c"]) {
      const raw = valid();
      raw["rewind:app"] = { ...(raw["rewind:app"] as object), image };
      assert.equal(parseConfig("prod", raw).app.image, image);
    }
    const digest = `sha256:${"ab".repeat(32)}`;
    for (const version of ["1.0.0", "v2", "2025-01-28_1", digest]) {
      const raw = valid();
      raw["rewind:app"] = { ...(raw["rewind:app"] as object), version };
      assert.equal(parseConfig("prod", raw).app.version, version);
    }
  });
});

describe("parseConfig: rewind:app.registry and drainSeconds", () => {
  const withRegistry = () => {
    const raw = valid();
    raw["rewind:app"] = {
      ...(raw["rewind:app"] as object),
      registry: { username: "team", password: "pw-123" },
    };
    return raw;
  };

  test("credentials held as a Pulumi secret are accepted", () => {
    const config = parseConfig("prod", withRegistry(), new Set(["rewind:app"]));
    assert.deepEqual(config.app.registry, { username: "team", password: "pw-123" });
  });

  test("a password in plain text is refused, naming the key and how to set it", () => {
    assert.throws(() => parseConfig("prod", withRegistry(), new Set(["rewind:database"])), {
      name: "ConfigError",
      message:
        'stack "prod": rewind:app.registry.password is [secret] in plain text; allowed: a ' +
        "Pulumi secret: pulumi config set --secret --path rewind:app.registry.password <password>",
    });
  });

  test("a missing password is named, and a bad one is never printed", () => {
    rejects(
      "rewind:app",
      set("registry", { username: "team", password: "" }),
      'stack "prod": rewind:app.registry.password is [secret]; allowed: a non-empty string, ' +
        "set as a secret: pulumi config set --secret --path rewind:app.registry.password <password>",
    );
    rejects(
      "rewind:app",
      set("registry", { username: "team" }),
      'stack "prod": rewind:app.registry.password is missing; allowed: a non-empty string, ' +
        "set as a secret: pulumi config set --secret --path rewind:app.registry.password <password>",
    );
  });

  test("drainSeconds: 0 to 3600 seconds, 30 by default", () => {
    accepts("rewind:app", set("drainSeconds", 0));
    accepts("rewind:app", set("drainSeconds", "120"));
    rejects(
      "rewind:app",
      set("drainSeconds", 3601),
      'stack "prod": rewind:app.drainSeconds is 3601; allowed: an integer number of seconds ' +
        "from 0 to 3600",
    );
  });
});

describe("parseConfig: rewind:app", () => {
  test("replicas below 1 (the README example)", () => {
    rejects(
      "rewind:app",
      set("replicas", 0),
      'stack "prod": rewind:app.replicas is 0; allowed: an integer of at least 1',
    );
  });

  test("replicas as a fraction or a word", () => {
    rejects(
      "rewind:app",
      set("replicas", 1.5),
      'stack "prod": rewind:app.replicas is 1.5; allowed: an integer of at least 1',
    );
    rejects(
      "rewind:app",
      set("replicas", "two"),
      'stack "prod": rewind:app.replicas is "two"; allowed: an integer of at least 1',
    );
  });

  test("name must be a DNS label", () => {
    rejects(
      "rewind:app",
      set("name", "Hunter_API"),
      'stack "prod": rewind:app.name is "Hunter_API"; allowed: a DNS label: lowercase letters, ' +
        "digits and -, starting with a letter, not ending with -, at most 63 characters",
    );
  });

  test("image must not carry a tag (the version is pinned separately)", () => {
    rejects(
      "rewind:app",
      set("image", "127.0.0.1:5000/hunter:1.1.0"),
      'stack "prod": rewind:app.image is "127.0.0.1:5000/hunter:1.1.0"; ' +
        'allowed: an image repository without tag or digest, e.g. "127.0.0.1:5000/hunter"',
    );
  });

  test('version "latest" is refused', () => {
    rejects(
      "rewind:app",
      set("version", "latest"),
      'stack "prod": rewind:app.version is "latest"; ' +
        'allowed: an immutable image tag (not "latest") or a sha256 digest',
    );
    rejects(
      "rewind:app",
      set("version", "LATEST"),
      'stack "prod": rewind:app.version is "LATEST"; ' +
        'allowed: an immutable image tag (not "latest") or a sha256 digest',
    );
  });

  test("version must be present and non-empty", () => {
    rejects(
      "rewind:app",
      set("version", ""),
      'stack "prod": rewind:app.version is ""; ' +
        'allowed: an immutable image tag (not "latest") or a sha256 digest',
    );
    rejects(
      "rewind:app",
      set("version", undefined),
      'stack "prod": rewind:app.version is missing; ' +
        'allowed: an immutable image tag (not "latest") or a sha256 digest',
    );
  });

  test("port below 1024 or above 65535", () => {
    rejects(
      "rewind:app",
      set("port", 80),
      'stack "prod": rewind:app.port is 80; allowed: an integer from 1024 to 65535',
    );
    rejects(
      "rewind:app",
      set("port", 70000),
      'stack "prod": rewind:app.port is 70000; allowed: an integer from 1024 to 65535',
    );
  });

  test("health paths start with / and timeouts are whole seconds", () => {
    rejects(
      "rewind:app",
      nested("health", "ready", "healthz/ready"),
      'stack "prod": rewind:app.health.ready is "healthz/ready"; allowed: a URL path starting with "/"',
    );
    rejects(
      "rewind:app",
      nested("health", "timeoutSeconds", 0),
      'stack "prod": rewind:app.health.timeoutSeconds is 0; ' +
        "allowed: an integer number of seconds, at least 1",
    );
  });

  test("an unknown key (a typo) names the keys that exist", () => {
    rejects(
      "rewind:app",
      set("replica", 2),
      'stack "prod": rewind:app.replica is an unknown key; ' +
        "allowed keys: name, image, version, replicas, port, protect, health, env, drainSeconds, registry, services, mounts",
    );
    rejects(
      "rewind:app",
      nested("health", "liveness", "/live"),
      'stack "prod": rewind:app.health.liveness is an unknown key; ' +
        "allowed keys: live, ready, startup, timeoutSeconds",
    );
  });

  test("env names are variable names; env values are masked: they may be secrets", () => {
    rejects(
      "rewind:app",
      set("env", { "API-KEY": "k" }),
      'stack "prod": rewind:app.env.API-KEY is not an allowed key; ' +
        "allowed: an environment variable name: letters, digits and _, not starting with a digit",
    );
    rejects(
      "rewind:app",
      set("env", { API_TOKEN: 12345 }),
      'stack "prod": rewind:app.env.API_TOKEN is [secret]; ' +
        "allowed: a string (quote numbers and booleans)",
    );
    rejects(
      "rewind:app",
      set("env", "API_TOKEN=abc"),
      'stack "prod": rewind:app.env is [secret]; ' +
        "allowed: a map of environment variable names to strings",
    );
  });

  test("each process has its own public port; replicas take free ports", () => {
    accepts("rewind:app", (o) => ({ ...o, port: 65535, replicas: 3 }));
    rejects(
      "rewind:app",
      set("services", [{ name: "worker", port: 8000 }]),
      'stack "prod": rewind:app.services[0].port is 8000; ' +
        "allowed: a port not already the public port of rewind:app",
    );
    rejects(
      "rewind:app",
      set("services", [
        { name: "worker", port: 9000, replicas: 3 },
        { name: "beat", port: 9000 },
      ]),
      'stack "prod": rewind:app.services[1].port is 9000; ' +
        "allowed: a port not already the public port of rewind:app.services[0]",
    );
  });

  test("a service without a port (a worker without HTTP) must declare its readiness", () => {
    const raw = valid();
    raw["rewind:app"] = {
      ...(raw["rewind:app"] as object),
      services: [
        { name: "worker", command: ["celery", "worker"], readiness: { upSeconds: 5 } },
        { name: "beat", readiness: { command: ["celery", "inspect", "ping"] } },
      ],
    };
    const config = parseConfig("prod", raw);
    assert.deepEqual(
      config.app.services?.map((s) => [s.name, s.port]),
      [
        ["worker", undefined],
        ["beat", undefined],
      ],
    );
    rejects(
      "rewind:app",
      set("services", [{ name: "api2", port: 9000 }, { name: "worker" }]),
      'stack "prod": rewind:app.services[1].readiness is missing; allowed: { upSeconds: N } or ' +
        '{ command: ["an", "argument", "array"] }, required for a service without a port (a ' +
        "worker without HTTP); or give the service a port (an integer from 1024 to 65535) to " +
        "probe rewind:app.health over HTTP",
    );
  });

  test("service names are unique, the app's included", () => {
    rejects(
      "rewind:app",
      set("services", [{ name: "hunter", port: 9000 }]),
      'stack "prod": rewind:app.services[0].name is "hunter"; ' +
        "allowed: a name not already used by rewind:app",
    );
  });

  test("a service command is an argument array, never a shell string", () => {
    rejects(
      "rewind:app",
      set("services", [{ name: "worker", port: 9000, command: "celery worker" }]),
      'stack "prod": rewind:app.services[0].command is "celery worker"; allowed: an argument ' +
        'array of non-empty strings, e.g. ["./migrate", "up"] (not a shell string)',
    );
  });

  test("a missing namespace", () => {
    const raw = valid();
    delete raw["rewind:app"];
    assert.throws(() => parseConfig("prod", raw), {
      message:
        'stack "prod": rewind:app is missing; allowed: an object with keys ' +
        "name, image, version, replicas, port, protect, health, env, drainSeconds, registry, services, mounts",
    });
  });
});

describe("parseConfig: rewind:database", () => {
  test("the URL is masked, whatever is wrong with it", () => {
    rejects(
      "rewind:database",
      set("url", "mysql://root:hunter2@db/app"),
      'stack "prod": rewind:database.url is [secret]; ' +
        "allowed: a PostgreSQL connection URL with its password, " +
        "postgres://user:password@host:port/database (or ?password=...), set as a secret: " +
        "pulumi config set --secret rewind:database.url <url>",
    );
  });

  test("a URL without a password says how to pass it (issue 10, defect 5)", () => {
    for (const url of ["postgres://app@db:5432/hunter", "postgres://app:@db/hunter?password="]) {
      rejects(
        "rewind:database",
        set("url", url),
        'stack "prod": rewind:database.url is [secret]; ' +
          "allowed: a PostgreSQL connection URL with its password, " +
          "postgres://user:password@host:port/database (or ?password=...), set as a secret: " +
          "pulumi config set --secret rewind:database.url <url>",
      );
    }
    accepts("rewind:database", set("url", "postgres://app@db/hunter?password=pw"));
  });

  test("a namespace given as a bare string is masked: it is probably the URL", () => {
    rejects(
      "rewind:database",
      () => URL,
      'stack "prod": rewind:database is [secret]; allowed: an object with keys url, migrations, revision, lockTimeoutSeconds',
    );
  });

  test("an unknown migration tool", () => {
    rejects(
      "rewind:database",
      set("migrations", { tool: "flyway", dir: "db" }),
      'stack "prod": rewind:database.migrations.tool is "flyway"; ' +
        'allowed: "sql", "alembic" or "command"',
    );
    rejects(
      "rewind:database",
      set("migrations", "alembic"),
      'stack "prod": rewind:database.migrations is "alembic"; ' +
        'allowed: an object with tool "sql", "alembic" or "command"',
    );
  });

  test("keys of another tool are unknown keys", () => {
    rejects(
      "rewind:database",
      set("migrations", { tool: "sql", dir: "m", config: "alembic.ini" }),
      'stack "prod": rewind:database.migrations.config is an unknown key; allowed keys: tool, dir, maintenance',
    );
  });

  test("command migrations are argument arrays", () => {
    rejects(
      "rewind:database",
      (o) => ({
        ...o,
        revision: "v3",
        migrations: { tool: "command", up: "alembic upgrade head", down: [] },
      }),
      'stack "prod": rewind:database.migrations.up is "alembic upgrade head"; allowed: an ' +
        'argument array of non-empty strings, e.g. ["./migrate", "up"] (not a shell string)\n' +
        'stack "prod": rewind:database.migrations.down is []; allowed: an argument array of ' +
        'non-empty strings, e.g. ["./migrate", "up"] (not a shell string)',
    );
  });

  test("sql revisions are base or four digits", () => {
    for (const revision of ["8", "0000", "head"]) {
      rejects(
        "rewind:database",
        set("revision", revision),
        `stack "prod": rewind:database.revision is ${JSON.stringify(revision)}; ` +
          `allowed: "base" or four digits from "0001" to "9999" (the sql tool's numbering)`,
      );
    }
    const raw = valid();
    raw["rewind:database"] = { ...(raw["rewind:database"] as object), revision: "base" };
    assert.equal(parseConfig("prod", raw).database.revision, "base");
  });

  test("Alembic revisions are ids, never head or a relative step", () => {
    for (const revision of ["head", "heads", "-1", "ae10+2"]) {
      rejects(
        "rewind:database",
        (o) => ({
          ...o,
          migrations: { tool: "alembic", dir: "/app", revisions: ["ae1027a6acf"] },
          revision,
        }),
        `stack "prod": rewind:database.revision is ${JSON.stringify(revision)}; allowed: a ` +
          `revision id of letters, digits and _, or "base" (not "head", "heads" or a relative ` +
          `step such as "-1": the pin must name one revision)`,
      );
    }
  });

  test("Alembic's dir is an absolute directory inside the app image; config is a path", () => {
    const raw = valid();
    raw["rewind:database"] = {
      ...(raw["rewind:database"] as object),
      migrations: {
        tool: "alembic",
        dir: "/srv/app",
        config: "deploy/alembic.ini",
        revisions: ["0001", "0002"],
      },
      revision: "0002",
    };
    assert.deepEqual(parseConfig("prod", raw).database.migrations, {
      tool: "alembic",
      dir: "/srv/app",
      config: "deploy/alembic.ini",
      revisions: ["0001", "0002"],
    });
    rejects(
      "rewind:database",
      (o) => ({
        ...o,
        migrations: { tool: "alembic", dir: "migrations", revisions: ["0001"] },
        revision: "0001",
      }),
      'stack "prod": rewind:database.migrations.dir is "migrations"; allowed: an absolute ' +
        "directory inside the app image",
    );
  });

  test("Alembic's revisions list every id once, oldest first; the pin is base or one of them", () => {
    const alembic =
      (revisions: unknown, revision = "0001") =>
      (o: Record<string, unknown>) => ({
        ...o,
        migrations: { tool: "alembic", revisions },
        revision,
      });
    const allowed =
      'allowed: a list of every revision id, oldest first, each once, without "base", e.g. ' +
      '["ae1027a6acf", "27c6a30d7c24"]';
    rejects(
      "rewind:database",
      alembic(undefined),
      `stack "prod": rewind:database.migrations.revisions is missing; ${allowed}`,
    );
    for (const revisions of [[], ["0001", "0001"], ["base", "0001"], "0001"]) {
      rejects(
        "rewind:database",
        alembic(revisions),
        `stack "prod": rewind:database.migrations.revisions is ${JSON.stringify(revisions)}; ${allowed}`,
      );
    }
    rejects(
      "rewind:database",
      alembic(["0001", "-1"]),
      `stack "prod": rewind:database.migrations.revisions[1] is "-1"; ${allowed}`,
    );
    rejects(
      "rewind:database",
      alembic(["0001", "0002"], "0003"),
      'stack "prod": rewind:database.revision is "0003"; allowed: "base" or one of ' +
        "rewind:database.migrations.revisions (0001, 0002)",
    );
    const raw = valid();
    raw["rewind:database"] = alembic(
      ["0001"],
      "base",
    )(raw["rewind:database"] as Record<string, unknown>);
    assert.equal(parseConfig("prod", raw).database.revision, "base");
  });

  test("an empty revision", () => {
    rejects(
      "rewind:database",
      set("revision", " "),
      'stack "prod": rewind:database.revision is " "; allowed: a non-empty string (a revision id)',
    );
  });
});

describe("parseConfig: rewind:backup", () => {
  test("a missing namespace: the store is the project's .rewind/backups (issue 11)", () => {
    const raw = valid();
    delete raw["rewind:backup"];
    assert.deepEqual(parseConfig("prod", raw).backup, {
      store: { kind: "fs", path: ".rewind/backups" },
      beforeMigration: true,
      include: ["database"],
      retain: { days: 30, keepAtLeast: 5 },
    });
  });

  test("a schedule for rewind backup", () => {
    for (const schedule of [
      "hourly",
      "hourly at :15",
      "daily at 03:00",
      "weekly on Sun at 23:59",
    ]) {
      accepts("rewind:backup", set("schedule", schedule));
    }
    const allowed =
      'allowed: "hourly[ at :MM]", "daily at HH:MM" or "weekly on <Mon..Sun> at HH:MM", in UTC ' +
      '(e.g. "daily at 03:00")';
    for (const schedule of [
      "daily",
      "daily at 3:00",
      "daily at 24:00",
      "weekly at 03:00",
      "0 3 * * *",
    ]) {
      rejects(
        "rewind:backup",
        set("schedule", schedule),
        `stack "prod": rewind:backup.schedule is ${JSON.stringify(schedule)}; ${allowed}`,
      );
    }
  });

  test("an unknown store kind", () => {
    rejects(
      "rewind:backup",
      set("store", { kind: "s3", bucket: "b" }),
      'stack "prod": rewind:backup.store.kind is "s3"; allowed: "fs"',
    );
  });

  test("include items", () => {
    rejects(
      "rewind:backup",
      set("include", ["database", "sessions"]),
      'stack "prod": rewind:backup.include[1] is "sessions"; ' +
        'allowed: "database", "volume:<name>" or "path:<absolute path>"',
    );
    rejects(
      "rewind:backup",
      set("include", ["database", "path:relative/dir"]),
      'stack "prod": rewind:backup.include[1] is "path:relative/dir"; ' +
        'allowed: "database", "volume:<name>" or "path:<absolute path>"',
    );
    rejects(
      "rewind:backup",
      set("include", ["database", "volume:sessions", "database"]),
      'stack "prod": rewind:backup.include[2] is "database"; ' +
        'allowed: an item not already listed ("database" is)',
    );
  });

  test("a pre-migration backup must hold the database", () => {
    rejects(
      "rewind:backup",
      set("include", ["volume:sessions"]),
      'stack "prod": rewind:backup.include is ["volume:sessions"]; ' +
        'allowed: a list containing "database" while beforeMigration is true',
    );
    const raw = valid();
    raw["rewind:backup"] = {
      ...(raw["rewind:backup"] as object),
      beforeMigration: false,
      include: ["volume:sessions"],
    };
    assert.deepEqual(parseConfig("prod", raw).backup.include, ["volume:sessions"]);
  });

  test("retention", () => {
    rejects(
      "rewind:backup",
      nested("retain", "days", -1),
      'stack "prod": rewind:backup.retain.days is -1; allowed: an integer number of days, at least 0',
    );
    rejects(
      "rewind:backup",
      nested("retain", "keepAtLeast", 0),
      'stack "prod": rewind:backup.retain.keepAtLeast is 0; allowed: an integer of at least 1',
    );
  });

  test("beforeMigration is a boolean", () => {
    rejects(
      "rewind:backup",
      set("beforeMigration", "yes"),
      'stack "prod": rewind:backup.beforeMigration is "yes"; allowed: true or false',
    );
  });
});

describe("parseConfig: rewind:restore, rewind:gate, rewind:target", () => {
  test("a snapshot pin is a snapshot id or null; the word null means the key was meant away", () => {
    const allowed =
      "allowed: a snapshot id from the backup store (see rewind history), e.g. " +
      "20261126T005230Z-hunter-0001-b09dc0; to pin none, remove the key " +
      "(pulumi config rm rewind:restore.snapshot)";
    for (const bad of ["", "null", "../20261126T005230Z", "a..b", "snap shot"]) {
      rejects(
        "rewind:restore",
        set("snapshot", bad),
        `stack "prod": rewind:restore.snapshot is ${JSON.stringify(bad)}; ${allowed}`,
      );
    }
    accepts("rewind:restore", set("snapshot", "20261126T005230Z-hunter-0001-b09dc0"));
  });

  test("gate smoke statuses are HTTP statuses", () => {
    rejects(
      "rewind:gate",
      () => ({ smoke: [{ path: "/", expectStatus: 700 }] }),
      'stack "prod": rewind:gate.smoke[0].expectStatus is 700; ' +
        "allowed: an HTTP status from 100 to 599",
    );
  });

  test("gate SQL checks need a query", () => {
    rejects(
      "rewind:gate",
      () => ({ sql: [{ minRows: 1 }] }),
      'stack "prod": rewind:gate.sql[0].query is missing; allowed: a non-empty string (an SQL query)',
    );
  });

  test("target is docker or kubernetes", () => {
    rejects(
      "rewind:target",
      () => "k8s",
      'stack "prod": rewind:target is "k8s"; allowed: "docker" or "kubernetes"',
    );
  });

  test("a misspelt namespace is refused, not ignored", () => {
    assert.throws(() => parseConfig("prod", { ...valid(), "rewind:restor": { snapshot: "s1" } }), {
      message:
        'stack "prod": rewind:restor is an unknown key; allowed keys: rewind:app, ' +
        "rewind:database, rewind:backup, rewind:restore, rewind:gate, rewind:target, " +
        "rewind:kubernetes",
    });
  });
});

describe("parseConfig: rewind:kubernetes", () => {
  const kubernetes = (block: unknown, include: string[] = ["database"]) => {
    const raw: Record<string, unknown> = { ...valid(), "rewind:target": "kubernetes" };
    raw["rewind:backup"] = { ...(raw["rewind:backup"] as object), include };
    if (block !== undefined) raw["rewind:kubernetes"] = block;
    return () => parseConfig("prod", raw);
  };

  test("a kubeconfig and a namespace; the namespace defaults to default", () => {
    assert.deepEqual(kubernetes({ kubeconfig: KUBECONFIG, namespace: "hunter" })().kubernetes, {
      kubeconfig: KUBECONFIG,
      namespace: "hunter",
    });
    assert.equal(kubernetes({ kubeconfig: KUBECONFIG })().kubernetes?.namespace, "default");
  });

  test("the kubernetes target needs the block, and the docker target refuses it", () => {
    assert.throws(kubernetes(undefined), {
      message:
        'stack "prod": rewind:kubernetes is missing; allowed: { kubeconfig, namespace } while ' +
        'rewind:target is "kubernetes"',
    });
    assert.throws(
      () => parseConfig("prod", { ...valid(), "rewind:kubernetes": { kubeconfig: "x" } }),
      {
        message:
          'stack "prod": rewind:kubernetes is [secret]; allowed: no value while rewind:target is ' +
          '"docker" (set rewind:target: kubernetes)',
      },
    );
  });

  test("the kubeconfig is masked in every error; unknown keys and bad namespaces name the key", () => {
    assert.throws(
      kubernetes({ kubeconfig: KUBECONFIG, namespace: "Prod", context: "x" }),
      (err) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(!err.message.includes("s3cr3t"), err.message);
        assert.deepEqual(
          err.issues.map((i) => i.key),
          ["rewind:kubernetes.namespace", "rewind:kubernetes.context"],
        );
        assert.match(
          err.message,
          /rewind:kubernetes\.context is an unknown key; allowed keys: kubeconfig, namespace/,
        );
        return true;
      },
    );
    assert.throws(kubernetes({ kubeconfig: "  " }), (err) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.issues[0].key, "rewind:kubernetes.kubeconfig");
      assert.equal(err.issues[0].value, "[secret]");
      return true;
    });
  });

  test("what the kubernetes target cannot do yet is refused, naming the key", () => {
    assert.throws(kubernetes({ kubeconfig: KUBECONFIG }, ["database", "volume:sessions"]), {
      message:
        'stack "prod": rewind:backup.include[1] is "volume:sessions"; allowed: "database" only ' +
        'while rewind:target is "kubernetes" (volumes and paths are Docker-target items)',
    });
    const withRegistry = () => {
      const raw: Record<string, unknown> = { ...valid(), "rewind:target": "kubernetes" };
      raw["rewind:kubernetes"] = { kubeconfig: KUBECONFIG };
      raw["rewind:backup"] = { ...(raw["rewind:backup"] as object), include: ["database"] };
      raw["rewind:app"] = {
        ...(raw["rewind:app"] as object),
        registry: { username: "team", password: "pw" },
      };
      return parseConfig("prod", raw);
    };
    assert.throws(withRegistry, (err) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(
        err.issues.map((i) => i.key),
        ["rewind:app.registry"],
      );
      assert.ok(!err.message.includes("pw"), err.message);
      assert.match(err.message, /imagePullSecret/);
      return true;
    });
  });
});

describe("parseConfig: a worker without a port on the kubernetes target", () => {
  test("is refused naming its port: a Service and its probes need one there", () => {
    const raw: Record<string, unknown> = { ...valid(), "rewind:target": "kubernetes" };
    raw["rewind:kubernetes"] = { kubeconfig: KUBECONFIG };
    raw["rewind:backup"] = { ...(raw["rewind:backup"] as object), include: ["database"] };
    raw["rewind:app"] = {
      ...(raw["rewind:app"] as object),
      services: [{ name: "worker", readiness: { upSeconds: 5 } }],
    };
    assert.throws(
      () => parseConfig("prod", raw),
      (err) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(
          err.issues.map((i) => i.key),
          ["rewind:app.services[0].port", "rewind:app.services[0].readiness"],
        );
        assert.equal(
          err.message.split("\n")[0],
          'stack "prod": rewind:app.services[0].port is missing; allowed: an integer from 1024 ' +
            'to 65535 while rewind:target is "kubernetes" (its Service and probes need a port)',
        );
        return true;
      },
    );
  });
});

describe("ConfigError", () => {
  test("lists every issue, one line each, and carries them structured", () => {
    const raw = valid();
    raw["rewind:app"] = { ...(raw["rewind:app"] as object), replicas: 0 };
    raw["rewind:target"] = "nomad";
    const error = (() => {
      try {
        parseConfig("staging", raw);
      } catch (e) {
        return e;
      }
      assert.fail("parseConfig accepted a bad config");
    })();
    assert.ok(error instanceof ConfigError);
    assert.ok(error instanceof UserError);
    assert.equal(error.name, "ConfigError");
    assert.equal(error.stackName, "staging");
    assert.equal(
      error.message,
      'stack "staging": rewind:app.replicas is 0; allowed: an integer of at least 1\n' +
        'stack "staging": rewind:target is "nomad"; allowed: "docker" or "kubernetes"',
    );
    assert.deepEqual(error.issues, [
      {
        key: "rewind:app.replicas",
        kind: "invalid",
        value: "0",
        allowed: "an integer of at least 1",
      },
      {
        key: "rewind:target",
        kind: "invalid",
        value: '"nomad"',
        allowed: '"docker" or "kubernetes"',
      },
    ]);
  });

  test("long values are cut", () => {
    rejects(
      "rewind:app",
      set("health", "x".repeat(100)),
      `stack "prod": rewind:app.health is "${"x".repeat(78)}…; ` +
        "allowed: an object with keys live, ready, startup, timeoutSeconds",
    );
  });

  test("the database URL never appears in an error, whatever it is", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.constantFrom("postgres://u:", "mysql://u:", "", "postgres://"),
        (password, prefix) => {
          const secret = `SECRET${password}`;
          const raw = valid();
          // Something else is wrong too, so the parse always fails.
          raw["rewind:app"] = { ...(raw["rewind:app"] as object), replicas: 0 };
          raw["rewind:database"] = { url: `${prefix}${secret}@db/x`, revision: "0001" };
          try {
            parseConfig("prod", raw);
          } catch (e) {
            assert.ok(e instanceof ConfigError);
            assert.ok(!e.message.includes(secret), e.message);
            return;
          }
          assert.fail("parseConfig accepted replicas 0");
        },
      ),
      { numRuns: 300 },
    );
  });
});
