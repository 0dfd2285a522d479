// tar archives of a directory and a file (adapters/tar.ts), on a temp dir.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { archivePath, restorePath } from "../../adapters/tar";

function tempStore(): string {
  return fs.mkdtempSync(path.join(tmpdir(), "rewind-store-"));
}

void describe("tar", () => {
  test("a directory and a file archived with tar come back, replacing what is there", async () => {
    const root = tempStore();
    try {
      const sessions = path.join(root, "sessions");
      fs.mkdirSync(sessions, { mode: 0o750 });
      fs.chmodSync(sessions, 0o750);
      fs.writeFileSync(path.join(sessions, "user_1"), "one");
      const env = path.join(root, ".env");
      fs.writeFileSync(env, "SECRET_KEY=a\n", { mode: 0o600 });
      const tars = path.join(root, "snap", "files");
      assert.equal(await archivePath(sessions, path.join(tars, "s.tar")), "directory");
      assert.equal(await archivePath(env, path.join(tars, "e.tar")), "file");
      await assert.rejects(
        archivePath(path.join(root, "nope"), path.join(tars, "n.tar")),
        /does not exist/,
      );

      fs.writeFileSync(path.join(sessions, "user_2"), "created later");
      fs.writeFileSync(path.join(sessions, "user_1"), "changed");
      fs.writeFileSync(env, "SECRET_KEY=b\n");
      await restorePath(path.join(tars, "s.tar"), sessions, "directory");
      await restorePath(path.join(tars, "e.tar"), env, "file");
      assert.deepEqual(fs.readdirSync(sessions), ["user_1"]);
      assert.equal(fs.readFileSync(path.join(sessions, "user_1"), "utf8"), "one");
      assert.equal(fs.statSync(sessions).mode & 0o777, 0o750);
      assert.equal(fs.readFileSync(env, "utf8"), "SECRET_KEY=a\n");
      assert.equal(fs.statSync(env).mode & 0o777, 0o600);
      assert.deepEqual(
        fs.readdirSync(root).filter((n) => n.startsWith(".rewind-restore")),
        [],
        "no staging directory is left",
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
