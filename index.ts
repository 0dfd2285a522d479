// Rewind's program: validate the stack's pins, read what runs now, plan the release between
// the two, and declare one Release whose resources run in the order the plan's direction needs.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as sdkConfig from "@pulumi/pulumi/runtime/config";
import { parseConfig } from "./domain/config";
import { getCurrentRelease } from "./components/currentRelease";
import { InputError, UserError } from "./domain/errors";
import { irreversibleSteps, readMigrationSet } from "./domain/migrationSet";
import { planRelease } from "./domain/planner";
import { Release } from "./components/release";

// The SDK's exit code for "the program has logged a message the user can act on"; the language
// host turns it into a failed update without a further error.
const EXIT_AFTER_USER_MESSAGE = 32;

// Log the failure and exit at once. (Thrown, it reached the engine only ~20 s later: the SDK's
// connections to the engine keep node alive until they time out. At 3 a.m. a typo should fail
// in a second.) A UserError is the operator's to fix: its message alone, not a stack trace.
export = async () => {
  try {
    return await release();
  } catch (err) {
    await pulumi.log.error(
      err instanceof UserError
        ? err.message
        : `Rewind's program failed (a bug, not your config): ${(err as Error).stack ?? String(err)}`,
    );
    process.exit(EXIT_AFTER_USER_MESSAGE);
  }
};

// The SDK knows which keys the engine passed as secrets, but keeps the function internal.
const runtimeConfig = sdkConfig as typeof sdkConfig & {
  isConfigSecret?: (key: string) => boolean;
};

/** The config keys Pulumi holds as secrets (a namespace with one secret leaf is one). */
function configSecretKeys(): Set<string> {
  const isSecret = runtimeConfig.isConfigSecret;
  if (isSecret === undefined) {
    throw new Error("this @pulumi/pulumi has no isConfigSecret: pin the version in package.json");
  }
  return new Set(Object.keys(pulumi.runtime.allConfig()).filter((k) => isSecret(k)));
}

async function release() {
  const stack = pulumi.getStack();
  // Validated before any resource is registered: a bad pin stops here, naming key and value.
  const config = parseConfig(stack, pulumi.runtime.allConfig(), configSecretKeys());
  const tool = config.database.migrations;
  if (tool.tool === "command") {
    throw new UserError(
      `stack "${stack}": rewind:database.migrations.tool is "command"; releases through Pulumi ` +
        `support "sql" and "alembic" migrations so far`,
    );
  }

  const stackId = `${pulumi.getProject()}/${stack}`;
  // Relative paths in the config are the project's (where Pulumi.yaml is), not the compiled
  // program's directory, which is where the engine starts the program.
  const root = pulumi.runtime.getRootDirectory();
  // Alembic's migrations live in the app image; only sql ones are read from the project.
  const migrationsDir = tool.tool === "sql" ? path.resolve(root, tool.dir) : "";
  const storePath = path.resolve(root, config.backup.store.path);
  const migrations =
    tool.tool === "sql"
      ? forPin(
          stack,
          "rewind:database.migrations.dir",
          () => readMigrationSet(migrationsDir),
          "a directory of the project holding NNNN_name.up.sql (and .down.sql) files",
        )
      : undefined;
  const current = await getCurrentRelease({
    databaseUrl: config.database.url,
    tool: tool.tool,
    service: config.app.name,
    stackId,
    storePath,
    restoreSnapshot: config.restore.snapshot,
    // On Kubernetes the running version is the Deployment's; the kubeconfig is a secret, and an
    // invoke's arguments are never stored.
    ...(config.kubernetes
      ? { kubeconfig: config.kubernetes.kubeconfig, namespace: config.kubernetes.namespace }
      : {}),
  }).catch((err: unknown) => {
    throw err instanceof InputError && err.input === "restoreSnapshot"
      ? pinError(
          stack,
          "rewind:restore.snapshot",
          err,
          "the id of a snapshot in the backup store (rewind status names the newest)",
        )
      : err;
  });
  if (
    current.restoreRevision !== undefined &&
    current.restoreRevision !== config.database.revision
  ) {
    // A restore lands the schema at the snapshot's revision; a different pin would migrate
    // straight after it, without the backup every schema change needs. Once the restore is
    // recorded in the database the pin is done, and releases plan from what runs.
    throw new UserError(
      `stack "${stack}": rewind:restore.snapshot ${config.restore.snapshot} was taken at ` +
        `revision ${current.restoreRevision}, but rewind:database.revision is ` +
        `${config.database.revision}; pin revision ${current.restoreRevision} with the snapshot ` +
        `(once it is restored, the next release may move on from there, with its own backup)`,
    );
  }
  const plan = planRelease({
    current: current.deployed ? current : undefined,
    desired: {
      appVersion: config.app.version,
      revision: config.database.revision,
      restoreSnapshot: config.restore.snapshot,
    },
    // Alembic's downgrade()s are the team's code: one that cannot undo its revision raises,
    // and the failed migration stays at the last good revision (the provider reports which).
    irreversible:
      migrations === undefined
        ? []
        : forPin(stack, "rewind:database.revision", () =>
            irreversibleSteps(migrations, current.revision, config.database.revision),
          ).map((step) => step.revision),
    order: tool.tool === "alembic" ? tool.revisions : undefined,
    maintenance: tool.maintenance,
    backupBeforeMigration: config.backup.beforeMigration,
    gateEnabled: config.gate.enabled,
  });
  if (plan.decision === "refuse") {
    throw new UserError(`stack "${stack}": refused: ${plan.reason}`);
  }
  void pulumi.log.info(`plan: ${plan.decision}: ${plan.reason}`);

  const release = new Release(config.app.name, {
    config,
    databaseUrl: pulumi.secret(config.database.url),
    database: current.database,
    currentRevision: current.revision,
    currentAppVersion: current.appVersion,
    restoreRevision: current.restoreRevision,
    plan,
    migrationsDir,
    storePath,
    stackId,
  });

  return {
    appVersion: release.appVersion,
    digest: release.digest,
    url: release.url,
    revision: release.revision,
    snapshotId: release.snapshotId,
    decision: plan.decision,
    direction: plan.direction,
    reason: plan.reason,
  };
}

// A pin the world refuses (a directory that is not there, a revision the migrations do not
// have) is named by its config key, as the schema's own errors are (issue 10, defect 5).
function forPin<T>(stack: string, key: string, read: () => T, allowed?: string): T {
  try {
    return read();
  } catch (err) {
    throw err instanceof UserError ? pinError(stack, key, err, allowed) : err;
  }
}

function pinError(stack: string, key: string, err: UserError, allowed?: string): UserError {
  const also = allowed === undefined ? "" : `; allowed: ${allowed}`;
  return new UserError(`stack "${stack}": ${key}: ${err.message}${also}`, { cause: err });
}
