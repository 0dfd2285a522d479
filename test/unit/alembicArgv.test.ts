// The argument array Rewind runs for the alembic tool: `-c` is Alembic's global option, so it
// must come before the subcommand, and nothing is ever a shell string.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { alembicArgv } from "../../adapters/alembic";

test("upgrade and downgrade to the pinned revision, Alembic's default config", () => {
  assert.deepEqual(alembicArgv(true, "0002"), ["alembic", "upgrade", "0002"]);
  assert.deepEqual(alembicArgv(false, "base"), ["alembic", "downgrade", "base"]);
  assert.deepEqual(alembicArgv(true, "0002", ""), ["alembic", "upgrade", "0002"]);
});

test("a configured alembic.ini goes before the subcommand as -c", () => {
  assert.deepEqual(alembicArgv(false, "ae1027a6acf", "/srv/app/alembic.ini"), [
    "alembic",
    "-c",
    "/srv/app/alembic.ini",
    "downgrade",
    "ae1027a6acf",
  ]);
});

test("a path with spaces stays one argument", () => {
  assert.deepEqual(alembicArgv(true, "0001", "conf/my alembic.ini"), [
    "alembic",
    "-c",
    "conf/my alembic.ini",
    "upgrade",
    "0001",
  ]);
});
