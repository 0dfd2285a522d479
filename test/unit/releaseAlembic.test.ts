// A Release with the alembic tool under Pulumi's mocks: the Migration gets the revision history,
// Alembic's dir and config, the app's env, and an image resolved by its own ImageRef, which on a
// downgrade is the running version's (only its migrations know how to undo its revisions). The
// sql tool declares no such ImageRef. Mocks are set before the component is imported; any
// registration or call they do not expect fails.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parseConfig } from "../../domain/config";
import { planRelease } from "../../domain/planner";
import { recordingMocks, value } from "./mocks";
import * as states from "./mockStates";

const URL = "postgres://rewind:secret@127.0.0.1:5432/hunter";
const IMAGE = "127.0.0.1:5000/hunter-alembic";
const REVISIONS = ["0001", "0002", "0003"];
const digestOf = (version: string) =>
  `sha256:${(version === "1.0.0" ? "a" : version === "1.1.0" ? "b" : "c").repeat(64)}`;

const registrations = recordingMocks({
  "rewind:index:ImageRef": states.imageRef((inputs) => digestOf(String(inputs.version))),
  // An id apart from the snapshotId, so the test sees which of them the Migration receives.
  "rewind:index:BackupSnapshot": (inputs) => ({
    id: "snap",
    state: { ...inputs, snapshotId: "snap-1" },
  }),
  "rewind:index:Migration": states.migration,
  "rewind:index:DockerDeployment": states.dockerDeployment,
  "rewind:index:HealthGate": states.healthGate,
  "rewind:app:AppService": states.component,
  "rewind:index:Release": states.component,
});

// Imported after setMocks, as the SDK requires (a static import would be hoisted above it).
const { Release } =
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("../../components/release") as typeof import("../../components/release");

function alembicConfig(version: string, revision: string, tool: "alembic" | "sql" = "alembic") {
  return parseConfig("unit", {
    "rewind:app": {
      name: "hunter",
      image: IMAGE,
      version,
      port: 8000,
      env: { LOG_LEVEL: "debug" },
    },
    "rewind:database": {
      url: URL,
      migrations:
        tool === "alembic"
          ? {
              tool,
              dir: "/srv/hunter-alembic",
              config: "/srv/hunter-alembic/alembic.ini",
              revisions: REVISIONS,
            }
          : { tool, dir: "/srv/hunter/migrations" },
      revision,
    },
    "rewind:backup": { store: { kind: "fs", path: "/srv/backups" } },
  });
}

/**
 * Declares a Release `name` from (app, revision) to the pinned ones and waits for its outputs.
 * Each test names its own: registrations still arriving from another test are told apart.
 */
async function release(
  name: string,
  from: { appVersion: string; revision: string },
  to: { appVersion: string; revision: string },
  tool: "alembic" | "sql" = "alembic",
): Promise<void> {
  const config = alembicConfig(to.appVersion, to.revision, tool);
  const plan = planRelease({
    current: from,
    desired: { appVersion: to.appVersion, revision: to.revision, restoreSnapshot: null },
    irreversible: [],
    order: tool === "alembic" ? REVISIONS : undefined,
  });
  const r = new Release(name, {
    config,
    databaseUrl: pulumi.secret(URL),
    database: "hunter",
    currentRevision: from.revision,
    currentAppVersion: from.appVersion,
    plan,
    migrationsDir: tool === "sql" ? "/srv/hunter/migrations" : "",
    storePath: "/srv/backups",
    stackId: "rewind/unit",
  });
  await Promise.all([value(r.revision), value(r.digest), value(r.url)]);
}

const registered = (name: string) => registrations.find((r) => r.name === name);
/** An ImageRef's repository and version (its inputs also carry the serialized provider). */
const imageOf = (name: string) => {
  const inputs = registered(name)?.inputs;
  return inputs && { image: inputs.image, version: inputs.version };
};

describe("Release with the alembic tool", () => {
  test("upgrade: the Migration runs alembic in the pinned version's image, by digest", async () => {
    await release(
      "up",
      { appVersion: "1.0.0", revision: "0001" },
      { appVersion: "1.1.0", revision: "0002" },
    );
    assert.deepEqual(imageOf("up-migration-image"), {
      image: IMAGE,
      version: "1.1.0",
    });
    const migration = registered("up-migration")!.inputs;
    assert.equal(migration.tool, "alembic");
    assert.equal(migration.migrationsDir, "");
    assert.equal(migration.fromRevision, "0001");
    assert.equal(migration.revision, "0002");
    assert.equal(migration.image, `${IMAGE}@${digestOf("1.1.0")}`);
    assert.deepEqual(migration.revisions, REVISIONS);
    assert.equal(migration.alembicDir, "/srv/hunter-alembic");
    assert.equal(migration.alembicConfig, "/srv/hunter-alembic/alembic.ini");
    assert.equal(migration.snapshotId, "snap-1");
    // The app's env reaches the migration's container too (a secret in the state).
    assert.deepEqual(migration.env, { LOG_LEVEL: "debug" });
  });

  test("downgrade: the migration runs in the running version's image", async () => {
    await release(
      "down",
      { appVersion: "1.1.0", revision: "0002" },
      { appVersion: "1.0.0", revision: "0001" },
    );
    assert.deepEqual(imageOf("down-migration-image"), {
      image: IMAGE,
      version: "1.1.0",
    });
    const migration = registered("down-migration")!.inputs;
    assert.equal(migration.image, `${IMAGE}@${digestOf("1.1.0")}`);
    assert.equal(migration.fromRevision, "0002");
    assert.equal(migration.revision, "0001");
    // The app itself goes back to the pinned version.
    assert.deepEqual(imageOf("down-app-image"), { image: IMAGE, version: "1.0.0" });
  });

  test("the sql tool declares no migration image and keeps its inputs", async () => {
    await release(
      "sql",
      { appVersion: "1.0.0", revision: "0001" },
      { appVersion: "1.1.0", revision: "0002" },
      "sql",
    );
    assert.equal(registered("sql-migration-image"), undefined);
    const migration = registered("sql-migration")!.inputs;
    assert.equal(migration.tool, "sql");
    assert.equal(migration.image, "");
    assert.deepEqual(migration.revisions, []);
    assert.equal(migration.alembicDir, "");
  });
});
