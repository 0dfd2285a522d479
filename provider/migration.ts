// Brings a database to its pinned revision, up or down, and reports the revision it actually
// finds, so `pulumi refresh` shows a migration someone ran by hand (runbook: `alembic
// downgrade -1`, made declared, locked and recorded). The handler, the plan and the guards shared
// by every tool; each tool's steps are in migrationSql.ts, migrationAlembic.ts and
// migrationCommand.ts.
//
// Runs in the provider plugin: plain functions calling adapters.
import { Client } from "pg";
import { readManifest } from "../adapters/backupStore";
import { readAlembicRevision } from "../adapters/alembic";
import {
  describeDatabase,
  ensureVersionTable,
  locateDatabase,
  readDatabaseRevision,
  readRevision,
  withClient,
  withMigrationLock,
} from "../adapters/postgres";
import { startContainers, stopAppContainers } from "../adapters/docker";
import { InternalError, UserError } from "../domain/errors";
import { MigrationSet, readMigrationSet, revisionsOf, stepsBetween } from "../domain/migrationSet";
import { BASE, Revision } from "../domain/revision";
import { alembicStep } from "./migrationAlembic";
import { commandStep } from "./migrationCommand";
import { irreversibleError, sqlStep } from "./migrationSql";
import { ResourceHandler, UNKNOWN } from "./resourceHandler";

/** How the schema is migrated (`rewind:database.migrations.tool`). */
export type MigrationTool = "sql" | "alembic" | "command";

/** A Migration's inputs as the provider receives them (secrets unwrapped). */
export interface MigrationInputs {
  databaseUrl: string;
  database: string;
  tool: MigrationTool;
  migrationsDir: string;
  fromRevision: string;
  revision: string;
  snapshotId: string;
  snapshotDatabase: string;
  snapshotRevision: string;
  storePath: string;
  lockTimeoutSeconds: number;
  /** `command`/`alembic`: the digest-pinned app image the command runs in. */
  image: string;
  /** `command`: argument arrays; the target revision is appended. */
  commandUp: string[];
  commandDown: string[];
  /** `command`/`alembic`: the revisions oldest first (their ids carry no order). */
  revisions: string[];
  /** `command`/`alembic`: environment of the command's container (DATABASE_URL is added). */
  env: Record<string, string>;
  /** `command`/`alembic`: the Docker Engine; DOCKER_HOST when empty. */
  dockerHost: string;
  /** `alembic`: absolute directory in the image to run in; the image's working dir when empty. */
  alembicDir?: string;
  /** `alembic`: path of alembic.ini in the image (`alembic -c`); `./alembic.ini` when empty. */
  alembicConfig?: string;
  /** `alembic`: "kubernetes-job" when a Job ran Alembic already; "container" (or absent) runs it. */
  runner?: "container" | "kubernetes-job";
  /** The maintenance order: these services' app containers stop before the first step. */
  stopServices?: string[];
  /** `<project>/<stack>` of those containers. */
  stackId?: string;
  /** Start them again once the migration succeeded (no app step follows). */
  restartStopped?: boolean;
}

/** What the state records: the inputs, and the revision as read back from the database. */
export interface MigrationOutputs extends Omit<MigrationInputs, "revision"> {
  /** The revision the version table reports (after `read`: what someone left there). */
  revision: string;
  /** The scripts or commands this update ran, in order; empty when nothing was to do. */
  appliedSteps: string[];
}

/** The revision the tool itself reports: Alembic's table for `alembic`, Rewind's otherwise. */
async function readToolRevision(client: Client, tool: MigrationTool): Promise<Revision> {
  return tool === "alembic" ? readAlembicRevision(client) : readRevision(client);
}

/** One step of a migration, whatever the tool. */
export interface PlannedStep {
  /** Revision before and after the step. */
  readonly from: Revision;
  readonly to: Revision;
  /** What runs: a script file name, or an argument array. */
  readonly label: string;
  readonly run: (client: Client) => Promise<void>;
}

/** The revisions the tool knows, oldest first, `"base"` first. */
function knownRevisions(inputs: MigrationInputs, set: MigrationSet | undefined): Revision[] {
  if (set !== undefined) {
    return revisionsOf(set);
  }
  const order = inputs.revisions[0] === BASE ? inputs.revisions : [BASE, ...inputs.revisions];
  return order;
}

function loadSet(inputs: MigrationInputs): MigrationSet | undefined {
  switch (inputs.tool) {
    case "sql":
      return readMigrationSet(inputs.migrationsDir);
    case "alembic":
    case "command":
      if (inputs.revisions.length === 0) {
        throw new UserError(
          `the ${inputs.tool} tool needs its revisions in order (oldest first) to tell an ` +
            `upgrade from a downgrade; none were given`,
        );
      }
      return undefined;
    default: {
      const unexpected: never = inputs.tool;
      throw new UserError(
        `migration tool ${JSON.stringify(unexpected)} is unknown; allowed: "sql", "alembic", "command"`,
      );
    }
  }
}

function unknownRevision(inputs: MigrationInputs, known: readonly Revision[]): UserError {
  const where =
    inputs.tool === "sql"
      ? `the migrations directory ${inputs.migrationsDir}`
      : "the revision list";
  return new UserError(
    `revision ${JSON.stringify(inputs.revision)} is not in ${where}; known revisions: ` +
      `${known.join(", ")}. Pin one of them in rewind:database.revision. Nothing was changed.`,
  );
}

/** The problems with the inputs that need no database: shown at preview through `check`. */
export function inputProblems(inputs: MigrationInputs): { property: string; reason: string }[] {
  const problems: { property: string; reason: string }[] = [];
  const known = (v: unknown) => typeof v === "string" && v !== UNKNOWN;
  if (
    known(inputs.fromRevision) &&
    known(inputs.revision) &&
    known(inputs.snapshotId) &&
    inputs.fromRevision !== inputs.revision &&
    inputs.snapshotId === ""
  ) {
    problems.push({ property: "snapshotId", reason: missingSnapshot(inputs) });
  }
  if (inputs.tool === "sql" && known(inputs.migrationsDir) && known(inputs.revision)) {
    try {
      const set = readMigrationSet(inputs.migrationsDir);
      const revisions = revisionsOf(set);
      if (!revisions.includes(inputs.revision)) {
        problems.push({ property: "revision", reason: unknownRevision(inputs, revisions).message });
      }
    } catch (error) {
      problems.push({ property: "migrationsDir", reason: (error as Error).message });
    }
  }
  return problems;
}

function missingSnapshot(inputs: MigrationInputs): string {
  return (
    `migrating database ${JSON.stringify(inputs.database)} from ${inputs.fromRevision} to ` +
    `${inputs.revision} needs a verified BackupSnapshot of that database taken at ` +
    `${inputs.fromRevision}, and snapshotId is empty. Keep rewind:backup.beforeMigration ` +
    `true (the Release then takes one first). Nothing was changed.`
  );
}

/**
 * The steps from `current` to the target, or a refusal before anything is touched: unknown
 * revisions, an irreversible step on the way down, a missing or mismatched snapshot.
 */
async function planSteps(
  inputs: MigrationInputs,
  set: MigrationSet | undefined,
  current: Revision,
): Promise<PlannedStep[]> {
  const known = knownRevisions(inputs, set);
  if (!known.includes(current)) {
    throw new UserError(
      `${describeDatabase(inputs.databaseUrl)} reports revision ${JSON.stringify(current)}, which ` +
        `${inputs.tool === "sql" ? `the migrations directory ${inputs.migrationsDir}` : "the revision list"} ` +
        `does not know (known: ${known.join(", ")}); was it migrated by a newer release? Nothing was changed.`,
    );
  }
  if (set === undefined) {
    const steps = toolSteps(inputs, known, current);
    if (steps.length > 0) {
      await checkSnapshot(inputs, current);
    }
    return steps;
  }
  const route = stepsBetween(set, current, inputs.revision);
  if (route.direction === "none") {
    return [];
  }
  if (route.direction === "down") {
    const irreversible = route.steps.filter((s) => s.down === undefined);
    if (irreversible.length > 0) {
      throw await irreversibleError(inputs, current, irreversible);
    }
  }
  await checkSnapshot(inputs, current);
  return route.steps.map((step) => sqlStep(inputs, step, route.direction === "up"));
}

/** The one step of the alembic or command tool, from `current` to the pin; none when there. */
function toolSteps(
  inputs: MigrationInputs,
  known: readonly Revision[],
  current: Revision,
): PlannedStep[] {
  const a = known.indexOf(current);
  const b = known.indexOf(inputs.revision);
  if (a === b) {
    return [];
  }
  const tool = inputs.tool;
  switch (tool) {
    case "alembic":
      if (inputs.runner === "kubernetes-job") {
        // The Job ran before this resource and succeeded (or the update had stopped there).
        throw new UserError(
          `the migration Job ran Alembic to ${inputs.revision}, but ` +
            `${describeDatabase(inputs.databaseUrl)} reports revision ${current} ` +
            `(alembic_version); read the Job's log (kubectl logs job/<name>). Nothing was changed.`,
        );
      }
      return [alembicStep(inputs, current, a < b)];
    case "command":
      return [commandStep(inputs, current, a < b)];
    case "sql":
      throw new InternalError("the sql tool plans its steps from its migrations directory");
    default: {
      const unexpected: never = tool;
      throw new InternalError(`unknown migration tool ${String(unexpected)}`);
    }
  }
}

/**
 * The provider's own check of the backup-before-migration rule (the policy pack checks it at
 * preview; this is the last line): a snapshot of this database, at the revision the database
 * is at now, must exist in the store.
 */
async function checkSnapshot(inputs: MigrationInputs, current: Revision): Promise<void> {
  if (inputs.snapshotId === "") {
    throw new UserError(missingSnapshot({ ...inputs, fromRevision: current }));
  }
  const database = inputs.snapshotDatabase || inputs.database;
  let revision = inputs.snapshotRevision || current;
  if (inputs.storePath !== "") {
    const manifest = readManifest(inputs.storePath, inputs.snapshotId);
    if (manifest.database !== inputs.database) {
      throw new UserError(
        `snapshot ${inputs.snapshotId} is of database ${JSON.stringify(manifest.database)}, not ` +
          `${JSON.stringify(inputs.database)}; it cannot guard this migration. Nothing was changed.`,
      );
    }
    revision = manifest.revision;
  }
  if (database !== inputs.database || revision !== current) {
    throw new UserError(
      `snapshot ${inputs.snapshotId} was taken at revision ${revision} of database ` +
        `${JSON.stringify(database)}, but ${describeDatabase(inputs.databaseUrl)} is at ${current} ` +
        `now; it cannot undo this migration. Run pulumi up again to take a fresh snapshot. ` +
        `Nothing was changed.`,
    );
  }
}

/**
 * Migrates the database to `inputs.revision` under Rewind's migration lock and returns the
 * revision read back and the steps run.
 */
export async function migrate(
  inputs: MigrationInputs,
): Promise<{ revision: Revision; appliedSteps: string[] }> {
  const urlDatabase = locateDatabase(inputs.databaseUrl).database;
  if (urlDatabase !== inputs.database) {
    throw new UserError(
      `Migration: database is ${JSON.stringify(inputs.database)} but the URL points at ` +
        `${JSON.stringify(urlDatabase)}; they must name the same database`,
    );
  }
  if (inputs.fromRevision !== inputs.revision && inputs.snapshotId === "") {
    throw new UserError(missingSnapshot(inputs));
  }
  const set = loadSet(inputs);
  const known = knownRevisions(inputs, set);
  if (!known.includes(inputs.revision)) {
    throw unknownRevision(inputs, known);
  }
  return withClient(
    inputs.databaseUrl,
    (client) =>
      withMigrationLock(
        client,
        async () => {
          const current = await readToolRevision(client, inputs.tool);
          const steps = await planSteps(inputs, set, current);
          if (steps.length > 0) {
            await ensureVersionTable(client);
          }
          const applied: string[] = [];
          const stopped = steps.length > 0 ? await stopForMaintenance(inputs) : [];
          try {
            for (const step of steps) {
              await step.run(client);
              applied.push(step.label);
            }
          } catch (error) {
            // The schema stayed where the tool left it; what ran before serves again.
            await startContainers(stopped, inputs.dockerHost || undefined).catch(() => undefined);
            throw error;
          }
          if (inputs.restartStopped === true) {
            await startContainers(stopped, inputs.dockerHost || undefined);
          }
          return { revision: await readToolRevision(client, inputs.tool), appliedSteps: applied };
        },
        {
          timeoutMs: inputs.lockTimeoutSeconds * 1000,
          purpose: `migrating to ${inputs.revision}`,
        },
      ),
    { applicationName: "rewind-migration" },
  );
}

/**
 * The maintenance order's stop (runbook: `docker-compose stop app` before a rename): every
 * service's running app containers, in order; if one cannot be stopped, those already stopped
 * start again and nothing is migrated.
 */
async function stopForMaintenance(inputs: MigrationInputs): Promise<string[]> {
  const stopped: string[] = [];
  try {
    for (const service of inputs.stopServices ?? []) {
      stopped.push(
        ...(await stopAppContainers({
          service,
          stackId: inputs.stackId ?? "",
          dockerHost: inputs.dockerHost || undefined,
        })),
      );
    }
  } catch (error) {
    await startContainers(stopped, inputs.dockerHost || undefined).catch(() => undefined);
    throw error;
  }
  return stopped;
}

// The inputs whose change needs the provider to look at the database again.
const MIGRATION_INPUTS = [
  "databaseUrl",
  "tool",
  "migrationsDir",
  "fromRevision",
  "snapshotId",
  "snapshotDatabase",
  "snapshotRevision",
  "storePath",
  "lockTimeoutSeconds",
  "image",
  "commandUp",
  "commandDown",
  "revisions",
  "env",
  "dockerHost",
  "alembicDir",
  "alembicConfig",
] as const;

export const migrationHandler: ResourceHandler<MigrationInputs, MigrationOutputs> = {
  async check(_olds, news) {
    return { inputs: news, failures: inputProblems(news) };
  },

  async create(inputs) {
    const result = await migrate(inputs);
    const id = `${inputs.database}-${Date.now().toString(36)}`;
    return { id, outs: { ...inputs, ...result } };
  },

  // `olds.revision` is what the database reported last (after a refresh: what someone left
  // there), so a hand-run migration shows as a change back to the pin.
  async diff(_id, olds, news) {
    const replaces = olds.database !== news.database ? ["database"] : [];
    const changed =
      olds.revision !== news.revision ||
      MIGRATION_INPUTS.some((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    return { changes: changed || replaces.length > 0, replaces };
  },

  async update(_id, _olds, news) {
    const result = await migrate(news);
    return { outs: { ...news, ...result } };
  },

  async read(id, props) {
    if (props === undefined) {
      throw new InternalError(`Migration ${id}: refresh without state`);
    }
    // Alembic's own table for alembic: an `alembic downgrade` run by hand shows as drift.
    const revision =
      props.tool === "alembic"
        ? await withClient(props.databaseUrl, readAlembicRevision, {
            applicationName: "rewind-migration",
          })
        : await readDatabaseRevision(props.databaseUrl, { applicationName: "rewind-migration" });
    return { id, props: { ...props, revision } };
  },

  // Destroying the stack does not un-migrate the database: the schema and its data outlive
  // the deployment, as the snapshots do.
  async delete() {
    return;
  },
};
