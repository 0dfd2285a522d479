// Automation API helpers shared by the integration tests: a unique stack on the
// file backend in the work tree, removed again in `finally`.
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { ConfigMap, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";

/** The repository root (tests run from dist/test/integration). */
export const repoRoot = path.resolve(__dirname, "..", "..", "..");

/** A stack name no other test run uses. */
export function uniqueStackName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

/** Fails early, naming the fix, when the test is not run through scripts/test. */
export function requireToolchainEnv(): void {
  for (const name of ["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_HOME"]) {
    if (!process.env[name]) {
      throw new Error(`${name} is not set: run integration tests through scripts/test`);
    }
  }
}

/**
 * Runs `body` against a fresh stack of the project in `workDir`, then destroys
 * and removes the stack whatever happened.
 */
export async function withStack<T>(
  workDir: string,
  prefix: string,
  body: (stack: Stack) => Promise<T>,
): Promise<T> {
  requireToolchainEnv();
  const stack = await LocalWorkspace.createStack({ stackName: uniqueStackName(prefix), workDir });
  try {
    return await body(stack);
  } finally {
    await stack.destroy({ onOutput: () => undefined });
    await stack.workspace.removeStack(stack.name);
  }
}

/** Runs `body` and prints how long it took as a test comment (`# label: 1.2s`). */
export async function timed<T>(label: string, body: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await body();
  } finally {
    console.log(`# ${label}: ${((Date.now() - start) / 1000).toFixed(1)}s`);
  }
}

/**
 * The sample service's stack config for the real program, without the pins (app.version,
 * database.revision) each test sets itself: this machine's registry, a free port, a database
 * of the test's own (a secret) and a backup store.
 */
export function hunterStackConfig(at: {
  registry: string;
  port: number;
  dbUrl: string;
  store: string;
}): ConfigMap {
  return {
    "rewind:app.name": { value: "hunter" },
    "rewind:app.image": { value: `${at.registry}/hunter` },
    "rewind:app.replicas": { value: "2" },
    "rewind:app.port": { value: String(at.port) },
    "rewind:app.health.timeoutSeconds": { value: "15" },
    "rewind:database.url": { value: at.dbUrl, secret: true },
    "rewind:database.migrations.tool": { value: "sql" },
    "rewind:database.migrations.dir": { value: "examples/hunter/migrations" },
    "rewind:backup.store.kind": { value: "fs" },
    "rewind:backup.store.path": { value: at.store },
    "rewind:gate.sql[0].query": { value: "select 1 from items" },
    "rewind:gate.sql[0].minRows": { value: "100" },
  };
}
