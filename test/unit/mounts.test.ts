import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { mountBinds, mountItems, withMountItems } from "../../domain/mounts";
import { appSchema, backupSchema } from "../../domain/config";
import { replicaSpec } from "../../domain/dockerLabels";

const mounts = [
  { volume: "sessions", target: "/srv/bot/sessions" },
  { source: "/etc/bot/env", target: "/srv/bot/.env", readOnly: true },
];

describe("rewind:app.mounts", () => {
  test("a volume lives under the volumes root; a bind keeps its host path", () => {
    assert.deepEqual(mountBinds(mounts, "/var/lib/rewind/volumes"), [
      "/var/lib/rewind/volumes/sessions:/srv/bot/sessions",
      "/etc/bot/env:/srv/bot/.env:ro",
    ]);
  });

  test("snapshots hold exactly the mounts, beside what include lists, each once", () => {
    assert.deepEqual(mountItems(mounts), ["volume:sessions", "path:/etc/bot/env"]);
    assert.deepEqual(withMountItems(["database", "volume:sessions"], mounts), [
      "database",
      "volume:sessions",
      "path:/etc/bot/env",
    ]);
  });

  test("the config takes { volume, target } or { source, target } and nothing else", () => {
    const app = { name: "bot", image: "127.0.0.1:5000/bot", version: "1.0.0", port: 8000 };
    assert.deepEqual(appSchema.parse({ ...app, mounts }).mounts, mounts);
    assert.equal(
      appSchema.safeParse({ ...app, mounts: [{ volume: "../x", target: "/a" }] }).success,
      false,
    );
    assert.equal(
      appSchema.safeParse({ ...app, mounts: [{ source: "rel", target: "/a" }] }).success,
      false,
    );
    assert.equal(
      backupSchema.safeParse({ store: { kind: "fs", path: "/b" }, volumesRoot: "relative" })
        .success,
      false,
    );
  });

  test("mounts change the replica spec only when there are some", () => {
    const base = { ref: "r@sha256:1", command: [], env: {} };
    assert.equal(replicaSpec({ ...base, mounts: [] }), replicaSpec(base));
    assert.notEqual(replicaSpec({ ...base, mounts: ["/a:/b"] }), replicaSpec(base));
  });
});

describe("a worker's readiness without HTTP", () => {
  const app = {
    name: "api",
    image: "127.0.0.1:5000/bot",
    version: "1.0.0",
    port: 8000,
  };
  test("process stays up N seconds, or a command exits 0", () => {
    const parsed = appSchema.parse({
      ...app,
      services: [
        { name: "worker", port: 8001, readiness: { upSeconds: 5 } },
        { name: "beat", port: 8002, readiness: { command: ["celery", "inspect", "ping"] } },
      ],
    });
    assert.deepEqual(
      parsed.services?.map((s) => s.readiness),
      [{ upSeconds: 5 }, { command: ["celery", "inspect", "ping"] }],
    );
    assert.equal(
      appSchema.safeParse({
        ...app,
        services: [{ name: "w", port: 8001, readiness: { upSeconds: 0 } }],
      }).success,
      false,
    );
  });
});
