// Restore under Pulumi's mocks: what it registers (type, name, inputs with their documented
// defaults) and which outputs it declares.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { recordOptions, recordingMocks, secret, value, typedInputs } from "./mocks";
import * as states from "./mockStates";

const TYPE = "rewind:index:Restore";
const URL = "postgres://rewind:pw@127.0.0.1:5432/hunter";
const SNAPSHOT = "20261101T000000Z-hunter-0001-77aa";

const registrations = recordingMocks({ [TYPE]: states.restore(["rewind-unit-hunter-1"]) });

/* eslint-disable @typescript-eslint/no-require-imports */
const { Restore } =
  require("../../components/restore") as typeof import("../../components/restore");
/* eslint-enable @typescript-eslint/no-require-imports */

const REQUIRED = {
  databaseUrl: URL,
  database: "hunter",
  storePath: "/srv/backups",
  snapshotId: SNAPSHOT,
};

describe("Restore", () => {
  test("the required inputs as given, every optional one at its documented default", async () => {
    registrations.length = 0;
    const options = new Map<string, pulumi.CustomResourceOptions>();
    const restore = new Restore("hunter-restore", REQUIRED, recordOptions(options));
    await value(restore.restoredRevision);
    assert.deepEqual(
      registrations.map((r) => [r.type, r.name]),
      [[TYPE, "hunter-restore"]],
    );
    assert.deepEqual(typedInputs(registrations[0]), {
      ...REQUIRED,
      services: [],
      stackId: "",
      appVersion: "",
      dockerHost: "",
      kubeconfig: "",
      namespace: "",
      lockTimeoutSeconds: 60,
    });
    assert.deepEqual(options.get("hunter-restore")!.additionalSecretOutputs, [
      "databaseUrl",
      "kubeconfig",
    ]);
  });

  test("every input given is passed through as given, secrets still secret", async () => {
    registrations.length = 0;
    const options = new Map<string, pulumi.CustomResourceOptions>();
    const given = {
      ...REQUIRED,
      services: ["hunter", "worker"],
      stackId: "rewind/unit",
      appVersion: "1.0.0",
      dockerHost: "tcp://127.0.0.1:2375",
      kubeconfig: "apiVersion: v1\nkind: Config",
      namespace: "prod",
      lockTimeoutSeconds: 5,
    };
    const restore = new Restore(
      "full",
      { ...given, databaseUrl: pulumi.secret(URL), storePath: pulumi.output("/srv/backups") },
      { ...recordOptions(options), additionalSecretOutputs: ["sha256"] },
    );
    await value(restore.restoredRevision);
    assert.deepEqual(typedInputs(registrations[0]), { ...given, databaseUrl: secret(URL) });
    assert.deepEqual(options.get("full")!.additionalSecretOutputs, [
      "sha256",
      "databaseUrl",
      "kubeconfig",
    ]);
  });

  test("declares every output the provider returns", async () => {
    registrations.length = 0;
    const restore = new Restore("outputs", REQUIRED);
    assert.deepEqual(
      {
        id: await value(restore.id),
        restoredRevision: await value(restore.restoredRevision),
        sha256: await value(restore.sha256),
        restoredAt: await value(restore.restoredAt),
        snapshotId: await value(restore.snapshotId),
      },
      {
        id: SNAPSHOT,
        restoredRevision: "0001",
        sha256: "d".repeat(64),
        restoredAt: "2026-11-26T01:05:00.000Z",
        snapshotId: SNAPSHOT,
      },
    );
  });

  test("bad plain arguments fail before anything is registered, each named", () => {
    registrations.length = 0;
    assert.throws(
      () =>
        new Restore("bad", {
          ...REQUIRED,
          database: " ",
          storePath: "./backups",
          snapshotId: ".partial-20261101T000000Z-hunter-0001-77aa",
          lockTimeoutSeconds: 1.5,
        }),
      (err: Error) => {
        assert.equal(err.name, "UserError");
        assert.deepEqual(err.message.split("\n"), [
          `Restore "bad": database is " "; allowed: the database's name, as in the URL`,
          `Restore "bad": storePath is "./backups"; allowed: an absolute path: the backup ` +
            `store's directory`,
          `Restore "bad": snapshotId is ".partial-20261101T000000Z-hunter-0001-77aa"; allowed: ` +
            `a snapshot id from the backup store (letters, digits, ".", "_" and "-", starting ` +
            `with a letter or digit), e.g. "20261126T005230Z-hunter-0001-b09dc0"`,
          `Restore "bad": lockTimeoutSeconds is 1.5; allowed: an integer number of seconds, at ` +
            `least 1`,
        ]);
        return true;
      },
    );
    assert.deepEqual(registrations, []);
  });

  test("values given as Outputs are left to the provider", async () => {
    registrations.length = 0;
    const restore = new Restore("later", {
      ...REQUIRED,
      storePath: pulumi.output("./backups"),
      snapshotId: pulumi.output(SNAPSHOT),
      lockTimeoutSeconds: pulumi.output(-1),
    });
    await value(restore.restoredRevision);
    assert.deepEqual(
      registrations.map((r) => r.name),
      ["later"],
    );
  });
});
