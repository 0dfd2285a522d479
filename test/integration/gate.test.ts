// The CI gate as CI runs it (issue 5): `npm run gate -- --stack <name>` (scripts/gate, a real
// `pulumi preview` of the program with the policy pack) against the production example
// stacks/Pulumi.prod.yaml, which must pass, and the bad examples in test/fixtures/gate/, each
// prod with one change, which must fail for the policy they were written to break. Each example
// runs as a copy (stacks/Pulumi.it-gate-*.yaml, git-ignored) gated with the production policy
// config, with this machine's registry, port, database and backup store set at run time.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigMap, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { freePort } from "../../adapters/ports";
import { ensureVersionTable, recordStep, withClient } from "../../adapters/postgres";
import { buildManifest } from "../../adapters/backupStore";
import { DATABASE_FILE, MANIFEST_FILE } from "../../domain/snapshotManifest";
import { withDatabase } from "./postgres";
import { repoRoot, requireToolchainEnv, uniqueStackName } from "./workspace";

const PROD = path.join(repoRoot, "stacks", "Pulumi.prod.yaml");
const BAD = path.join(repoRoot, "test", "fixtures", "gate");
const MIGRATIONS = path.join(repoRoot, "examples", "hunter", "migrations");
/** The snapshot restore-corrupt-snapshot.yaml pins; this test writes it, then corrupts it. */
const CORRUPT_SNAPSHOT = "20260301T120000Z-hunter-0002-c0ffee";

/** A database of the test's own, kept until `drop` (withDatabase drops it when released). */
async function holdDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  let ready!: (db: { url: string; name: string }) => void;
  let release!: () => void;
  const held = new Promise<{ url: string; name: string }>((r) => (ready = r));
  const dropped = withDatabase(
    (url, name) =>
      new Promise<void>((r) => {
        release = r;
        ready({ url, name });
      }),
  );
  const db = await Promise.race([held, dropped.then(() => assert.fail("database not created"))]);
  return {
    ...db,
    drop: async () => {
      release();
      await dropped;
    },
  };
}

/** The variable .github/workflows/gate.yml hands the production database URL over in. */
const DATABASE_URL_ENV = "REWIND_PROD_DATABASE_URL";

/**
 * Runs the gate exactly as CI does, through npm; stdout and stderr interleaved as printed.
 * With `databaseUrl`, the URL comes from the environment as in the workflow, not the stack.
 */
function runGate(
  stack: string,
  databaseUrl?: string,
): Promise<{ code: number | null; output: string }> {
  const args = ["run", "gate", "--", "--stack", stack, "--policy-config", "prod"];
  const fromEnv = databaseUrl === undefined ? [] : ["--database-url-env", DATABASE_URL_ENV];
  return new Promise((resolve, reject) => {
    const child = spawn("npm", [...args, ...fromEnv], {
      cwd: repoRoot,
      env: { ...process.env, ...(databaseUrl ? { [DATABASE_URL_ENV]: databaseUrl } : {}) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
  });
}

/** Each mandatory violation the gate printed, once: `<policy> (<type>: <resource name>)`. */
function mandatoryViolations(output: string): string[] {
  const lines = output.matchAll(/\[mandatory\] \[severity: \w+\]\s+(\S+)\s+\(([^)]*)\)/g);
  return [...new Set([...lines].map((m) => `${m[1]} (${m[2]})`))];
}

/** A stack's config as leaf paths (`rewind:backup.retain.days`) and their values. */
function leaves(config: ConfigMap): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (key: string, value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(`${key}[${i}]`, v));
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) walk(`${key}.${k}`, v);
    } else {
      out.set(key, JSON.stringify(value));
    }
  };
  for (const [key, { value }] of Object.entries(config)) {
    walk(key, /^[[{]/.test(value) ? JSON.parse(value) : value);
  }
  return out;
}

/** The keys whose values differ between two configs. */
function changedKeys(a: ConfigMap, b: ConfigMap): string[] {
  const [la, lb] = [leaves(a), leaves(b)];
  const keys = new Set([...la.keys(), ...lb.keys()]);
  return [...keys].filter((k) => la.get(k) !== lb.get(k)).sort();
}

interface Example {
  /** test/fixtures/gate/<file>.yaml */
  readonly file: string;
  /** The one config key in which it differs from prod. */
  readonly change: string;
  /** Which of the test's databases it runs against. */
  readonly database: "empty" | "at 0003";
}

/** A bad example the policy pack refuses: exactly one mandatory violation, on `resource`. */
interface Refused extends Example {
  readonly policy: string;
  readonly resource: (stack: string) => string;
  readonly message: () => string;
}

/** A bad example the program refuses before any resource reaches the pack. */
interface RefusedByProgram extends Example {
  readonly policy: string;
  readonly error: (stack: string) => string;
}

describe("the CI gate on the example stacks", () => {
  let empty: Awaited<ReturnType<typeof holdDatabase>>;
  let at0003: Awaited<ReturnType<typeof holdDatabase>>;
  let store: string;
  let prodConfig: ConfigMap;

  /** Runs `body` on a copy of `source` under a fresh stack name, removed again afterwards. */
  async function withCopy<T>(source: string, prefix: string, body: (s: Stack) => Promise<T>) {
    const name = uniqueStackName(prefix);
    const file = path.join(repoRoot, "stacks", `Pulumi.${name}.yaml`);
    fs.copyFileSync(source, file);
    let stack: Stack | undefined;
    try {
      stack = await LocalWorkspace.createStack({ stackName: name, workDir: repoRoot });
      return await body(stack);
    } finally {
      await stack?.workspace.removeStack(name);
      fs.rmSync(file, { force: true });
    }
  }

  /**
   * Gates a copy of `source` (prod when no example is given): checks that an example differs
   * from prod in its `change` only, sets this machine's values, and runs the gate.
   */
  function gate(source: string, example?: Example) {
    return withCopy(source, `it-gate-${example?.file ?? "prod"}`, async (stack) => {
      if (example !== undefined) {
        const changed = changedKeys(prodConfig, await stack.getAllConfig());
        assert.deepEqual(changed, [example.change], `${example.file}: prod with one change`);
      }
      const db = example?.database === "at 0003" ? at0003 : empty;
      await stack.setAllConfig(
        {
          "rewind:app.image": { value: `${process.env.REWIND_REGISTRY}/hunter` },
          "rewind:app.port": { value: String(await freePort()) },
          "rewind:backup.store.path": { value: store },
          // prod gets its URL as the workflow passes it (--database-url-env); the examples in
          // their stack, as a deployment that sets it once does.
          ...(example === undefined
            ? {}
            : { "rewind:database.url": { value: db.url, secret: true } }),
        },
        true,
      );
      const url = example === undefined ? db.url : undefined;
      const file = path.join(repoRoot, "stacks", `Pulumi.${stack.name}.yaml`);
      const before = fs.readFileSync(file, "utf8");
      const result = await runGate(stack.name, url);
      // The URL reached the preview as a secret in a private copy: the stack file is as it was.
      assert.equal(fs.readFileSync(file, "utf8"), before);
      return { name: stack.name, ...result };
    });
  }

  before(async () => {
    requireToolchainEnv();
    assert.ok(process.env.REWIND_REGISTRY, "REWIND_REGISTRY is not set: run scripts/test");
    prodConfig = await withCopy(PROD, "it-gate-config", (stack) => stack.getAllConfig());
    empty = await holdDatabase();
    at0003 = await holdDatabase();
    // What a release of 0003 leaves behind: its schema and the version table at 0003.
    await withClient(at0003.url, async (client) => {
      await ensureVersionTable(client);
      let from = "base";
      for (const up of ["0001_create_items", "0002_add_slug", "0003_drop_legacy"]) {
        await client.query(fs.readFileSync(path.join(MIGRATIONS, `${up}.up.sql`), "utf8"));
        const revision = up.slice(0, 4);
        await recordStep(client, { revision, fromRevision: from, direction: "up", step: up });
        from = revision;
      }
    });

    // A snapshot as BackupSnapshot writes it, of the empty database at 0002, then one byte of
    // its dump flipped: the manifest no longer matches, and nothing else is wrong with it.
    store = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-gate-store-"));
    const dir = path.join(store, CORRUPT_SNAPSHOT);
    fs.mkdirSync(dir);
    const dump = path.join(dir, DATABASE_FILE);
    fs.writeFileSync(dump, "PGDMP stand-in dump");
    const manifest = await buildManifest(
      dir,
      {
        id: CORRUPT_SNAPSHOT,
        database: empty.name,
        revision: "0002",
        appVersion: "1.1.0",
        takenAt: "2026-03-01T12:00:00.000Z",
        reason: "migrate 0001->0002",
      },
      [{ item: "database", file: DATABASE_FILE, format: "pg_dump-custom" }],
    );
    fs.writeFileSync(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
    fs.writeFileSync(dump, "PGDMQ stand-in dump");
  });

  after(async () => {
    try {
      await empty?.drop();
      await at0003?.drop();
    } finally {
      if (store) fs.rmSync(store, { recursive: true, force: true });
    }
  });

  test("stacks/Pulumi.prod.yaml passes, its database URL from the environment as in CI", async () => {
    const workflow = fs.readFileSync(path.join(repoRoot, ".github/workflows/gate.yml"), "utf8");
    assert.ok(workflow.includes(`--database-url-env ${DATABASE_URL_ENV}`), workflow);
    assert.ok(workflow.includes(`${DATABASE_URL_ENV}: \${{ secrets.`), workflow);
    const { name, code, output } = await gate(PROD);
    assert.equal(code, 0, output);
    assert.ok(!output.includes(empty.url), "the URL is never printed");
    assert.match(output, /✅ rewind@v0\.1\.0/);
    assert.doesNotMatch(output, /\[(mandatory|advisory)\]/);
    assert.ok(output.includes(`gate passed for stack ${name}`), output);
  });

  const refused: Refused[] = [
    {
      file: "health-gate-disabled",
      change: "rewind:gate.enabled",
      database: "empty",
      policy: "health-gate-required",
      // A stack check: the stack is the resource, the message names the deployment.
      resource: (stack) => `pulumi:pulumi:Stack: rewind-${stack}`,
      message: () =>
        `This stack deploys "hunter-app-deployment" without a HealthGate; set ` +
        `rewind:gate.enabled to true so a failing release fails the update.`,
    },
    {
      file: "retention-one-day",
      change: "rewind:backup.retain.days",
      database: "empty",
      policy: "backup-retention-minimum",
      resource: () => "rewind:index:BackupSnapshot: hunter-backup",
      message: () =>
        `The BackupSnapshot's retain.days is 1; this stack keeps snapshots at least 7 days ` +
        `(rewind:backup.retain.days).`,
    },
    {
      file: "migration-without-backup",
      change: "rewind:backup.beforeMigration",
      database: "empty",
      policy: "migration-requires-backup",
      resource: () => "rewind:index:Migration: hunter-migration",
      message: () =>
        `The Migration takes database "${empty.name}" from "base" to "0002" but names no ` +
        `snapshotId; take a BackupSnapshot of "${empty.name}" at "base" first and pass its ` +
        `snapshotId.`,
    },
  ];

  for (const example of refused) {
    test(`${example.file}.yaml fails for ${example.policy}`, async () => {
      const { name, code, output } = await gate(path.join(BAD, `${example.file}.yaml`), example);
      assert.equal(code, 1, output);
      assert.deepEqual(mandatoryViolations(output), [
        `${example.policy} (${example.resource(name)})`,
      ]);
      assert.ok(output.includes(example.message()), output);
      // The verdict repeats the violation after the preview's own output.
      const verdict = output.slice(output.indexOf(`gate FAILED for stack ${name}`));
      assert.ok(verdict.includes(example.policy) && verdict.includes(example.message()), output);
    });
  }

  // images-pinned and irreversible-downgrade-requires-restore cannot be reached through the
  // program: its config schema refuses "latest" and its planner refuses an irreversible
  // downgrade, both before any resource is registered. The gate still fails these stacks; the
  // policies stay as the second line for resources declared by other programs.
  const refusedByProgram: RefusedByProgram[] = [
    {
      file: "image-latest",
      change: "rewind:app.version",
      database: "empty",
      policy: "images-pinned",
      error: (stack) =>
        `stack "${stack}": rewind:app.version is "latest"; allowed: an immutable image tag ` +
        `(not "latest") or a sha256 digest`,
    },
    // The Restore's own check refuses a snapshot that fails verification at preview (issue 10),
    // so the pack never sees it; the policy stays for Restores declared by other programs.
    {
      file: "restore-corrupt-snapshot",
      change: "rewind:restore.snapshot",
      database: "empty",
      policy: "restore-requires-verified-snapshot",
      error: () =>
        `rewind:index:Restore resource 'hunter-restore': property snapshotId value ` +
        `{${CORRUPT_SNAPSHOT}} has a problem: snapshot "${CORRUPT_SNAPSHOT}" in `,
    },
    {
      file: "downgrade-irreversible",
      change: "rewind:database.revision",
      database: "at 0003",
      policy: "irreversible-downgrade-requires-restore",
      error: (stack) =>
        `stack "${stack}": refused: schema 0003 → 0001 passes through irreversible step 0003 ` +
        `(no down script); pin a snapshot to restore instead (rewind:restore.snapshot)`,
    },
  ];

  for (const example of refusedByProgram) {
    test(`${example.file}.yaml fails before the pack (${example.policy})`, async () => {
      const { name, code, output } = await gate(path.join(BAD, `${example.file}.yaml`), example);
      assert.equal(code, 1, output);
      assert.ok(output.includes(`error: ${example.error(name)}`), output);
      assert.deepEqual(mandatoryViolations(output), []);
      assert.match(output, /\(none reported: the preview itself failed, see above\)/);
    });
  }
});
