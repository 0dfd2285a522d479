// Which project `rewind` acts on, and what its pulumi runs with (cli/project.ts, issue 11).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { PACKAGE_ROOT, projectDir, projectEnvironment } from "../../cli/project";

void describe("the project of a rewind command", () => {
  test("REWIND_PROJECT_DIR, else the nearest Pulumi.yaml up from here, else Rewind's own", () => {
    const team = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-project-"));
    try {
      fs.writeFileSync(path.join(team, "Pulumi.yaml"), "name: shop\n");
      fs.mkdirSync(path.join(team, "migrations", "more"), { recursive: true });
      assert.equal(projectDir({}, path.join(team, "migrations", "more")), team);
      assert.equal(projectDir({}, team), team);
      assert.equal(projectDir({ REWIND_PROJECT_DIR: "/elsewhere" }, team), "/elsewhere");
      // A folder outside any project: Rewind's own checkout (the demo, the tests).
      assert.equal(projectDir({}, os.tmpdir()), PACKAGE_ROOT);
    } finally {
      fs.rmSync(team, { recursive: true, force: true });
    }
  });

  test("router state under the project, this package's launchers first on PATH", () => {
    const env = projectEnvironment(
      "/srv/shop",
      { PATH: "/usr/bin:/pkg/scripts/launchers:/bin" },
      "/pkg",
    );
    assert.deepEqual(env, {
      REWIND_PROXY_DIR: "/srv/shop/.rewind/proxy",
      PATH: "/pkg/scripts/launchers:/usr/bin:/bin",
    });
    assert.equal(
      projectEnvironment("/srv/shop", { REWIND_PROXY_DIR: "/var/lib/r" }, "/pkg").REWIND_PROXY_DIR,
      "/var/lib/r",
    );
  });
});
