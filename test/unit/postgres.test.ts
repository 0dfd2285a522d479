// The PostgreSQL adapters' pure parts: URLs, the lock key, the pg tools' arguments.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import {
  MIGRATION_LOCK_KEY,
  describeDatabase,
  locateDatabase,
  splitPassword,
} from "../../adapters/postgres";
import {
  libpqTarget,
  pgDumpArgs,
  pgRestoreScriptArgs,
  psqlRestoreArgs,
} from "../../adapters/pgTools";

const URL_WITH_SECRET = "postgres://app%40prod:s3cr%2Ft@db.example:6543/hunter?sslmode=require";

void describe("database URLs", () => {
  test("locates host, port, database and user, with libpq's defaults", () => {
    assert.deepEqual(locateDatabase(URL_WITH_SECRET), {
      host: "db.example",
      port: 6543,
      database: "hunter",
      user: "app@prod",
    });
    assert.deepEqual(locateDatabase("postgresql://bob@localhost"), {
      host: "localhost",
      port: 5432,
      database: "bob",
      user: "bob",
    });
    assert.deepEqual(locateDatabase("postgres:///hunter?host=/run/postgresql&user=app"), {
      host: "/run/postgresql",
      port: 5432,
      database: "hunter",
      user: "app",
    });
  });

  test("messages name host:port and database, never the password", () => {
    const text = describeDatabase(URL_WITH_SECRET);
    assert.equal(text, `database "hunter" at db.example:6543`);
    assert.doesNotMatch(text, /s3cr/);
  });

  test("a malformed URL is refused without repeating it", () => {
    assert.throws(
      () => locateDatabase("hunter:s3cret"),
      (err: Error) => {
        assert.match(err.message, /scheme "hunter:"; expected postgres:\/\//);
        assert.doesNotMatch(err.message, /s3cret/);
        return true;
      },
    );
    assert.throws(
      () => locateDatabase("not a url s3cret"),
      (err: Error) => {
        assert.match(err.message, /not a valid URL/);
        assert.doesNotMatch(err.message, /s3cret/);
        return true;
      },
    );
  });

  test("the password is split off, from the authority or from ?password=", () => {
    assert.deepEqual(splitPassword(URL_WITH_SECRET), {
      url: "postgres://app%40prod@db.example:6543/hunter?sslmode=require",
      password: "s3cr/t",
    });
    assert.deepEqual(splitPassword("postgres://app@h/db?password=p%26q&sslmode=disable"), {
      url: "postgres://app@h/db?sslmode=disable",
      password: "p&q",
    });
    assert.deepEqual(splitPassword("postgres://app@h/db"), {
      url: "postgres://app@h/db",
      password: undefined,
    });
  });
});

void describe("pg tools", () => {
  test("pg_dump, pg_restore and psql get the URL without the password; PGPASSWORD gets it", () => {
    const target = libpqTarget(URL_WITH_SECRET);
    assert.deepEqual(target.env, { PGPASSWORD: "s3cr/t" });
    const dump = pgDumpArgs(target.dbname, "/store/x/database.dump");
    assert.deepEqual(dump, [
      "--format=custom",
      "--no-password",
      "--file=/store/x/database.dump",
      "--dbname=postgres://app%40prod@db.example:6543/hunter?sslmode=require",
    ]);
    const restore = psqlRestoreArgs(target.dbname);
    assert.deepEqual(restore, [
      "--no-psqlrc",
      "--quiet",
      "--no-password",
      "--set=ON_ERROR_STOP=1",
      "--dbname=postgres://app%40prod@db.example:6543/hunter?sslmode=require",
      "--file=-",
    ]);
    assert.deepEqual(pgRestoreScriptArgs("/store/x/database.dump"), [
      "--clean",
      "--if-exists",
      "--no-password",
      "--file=-",
      "/store/x/database.dump",
    ]);
    for (const arg of [...dump, ...restore]) {
      assert.doesNotMatch(arg, /s3cr/);
    }
  });
});

void describe("the migration lock key", () => {
  test("is the first 8 bytes of sha256('rewind-migrations'), sign bit cleared", () => {
    const digest = createHash("sha256").update("rewind-migrations").digest();
    const key = digest.readBigUInt64BE(0) & 0x7fffffffffffffffn;
    assert.equal(MIGRATION_LOCK_KEY, key.toString());
  });
});
