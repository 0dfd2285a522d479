// The file backend's `.attrs` files a killed pulumi leaves empty: which are broken, which to look
// at again, and the refusal's words.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ATTRS_SETTLE_MS,
  attrsInScope,
  brokenStateRefusal,
  judgeAttrsFiles,
} from "../../domain/stateAttrs";

const WRITTEN = '{"user.cache_control":"","user.content_type":"application/json","md5":"AAAA"}\n';
const dir = "/p/.rewind/state/.pulumi";

describe("judgeAttrsFiles", () => {
  test("a written file is whole, however young", () => {
    assert.deepEqual(
      judgeAttrsFiles([
        { file: `${dir}/stacks/shop/dev.json.attrs`, text: WRITTEN, ageMs: 0 },
        { file: `${dir}/meta.yaml.attrs`, text: WRITTEN, ageMs: 60_000 },
      ]),
      { broken: [], recheck: [] },
    );
  });

  test("an old empty or cut-short file is broken; the list is sorted", () => {
    assert.deepEqual(
      judgeAttrsFiles([
        { file: `${dir}/stacks/shop/dev.json.attrs`, text: "", ageMs: ATTRS_SETTLE_MS },
        { file: `${dir}/history/shop/dev/a.history.json.attrs`, text: '{"user.cac', ageMs: 9e6 },
        { file: `${dir}/stacks/shop/prod.json.attrs`, text: "[]", ageMs: 5_000 },
      ]),
      {
        broken: [
          `${dir}/history/shop/dev/a.history.json.attrs`,
          `${dir}/stacks/shop/dev.json.attrs`,
          `${dir}/stacks/shop/prod.json.attrs`,
        ],
        recheck: [],
      },
    );
  });

  test("a young empty file may be mid-write: looked at again once it is 2 s old", () => {
    assert.deepEqual(
      judgeAttrsFiles([{ file: `${dir}/stacks/shop/dev.json.attrs`, text: "", ageMs: 1_500 }]),
      { broken: [], recheck: [{ file: `${dir}/stacks/shop/dev.json.attrs`, inMs: 500 }] },
    );
  });
});

describe("attrsInScope", () => {
  const inScope = (relative: string, stack?: string) => attrsInScope(relative, "shop", stack);

  test("what a command on stack dev reads: meta.yaml, its checkpoint, history, backups, locks", () => {
    for (const relative of [
      "meta.yaml.attrs",
      "stacks/shop/dev.json.attrs",
      "stacks/shop/dev.json.bak.attrs",
      "stacks/shop/dev.json.gz.attrs",
      "history/shop/dev/dev-1764621000.history.json.attrs",
      "backups/shop/dev/dev.1764621000.json.attrs",
      "locks/organization/shop/dev/0b1c.json.attrs",
    ]) {
      assert.equal(inScope(relative, "dev"), true, relative);
      assert.equal(inScope(relative, "organization/shop/dev"), true, `${relative} (full name)`);
    }
  });

  test("another stack's or project's files are theirs", () => {
    for (const relative of [
      "stacks/shop/prod.json.attrs",
      "stacks/shop/dev2.attrs",
      "stacks/other/dev.json.attrs",
      "history/shop/prod/prod-1.history.json.attrs",
      "history/other/dev/dev-1.history.json.attrs",
      "locks/organization/shop/prod/0b1c.json.attrs",
      "locks/organization/other/dev/0b1c.json.attrs",
    ]) {
      assert.equal(inScope(relative, "dev"), false, relative);
    }
  });

  test("no stack named yet: every checkpoint of the project, and meta.yaml", () => {
    assert.equal(inScope("meta.yaml.attrs"), true);
    assert.equal(inScope("stacks/shop/prod.json.attrs"), true);
    assert.equal(inScope("stacks/other/prod.json.attrs"), false);
    assert.equal(inScope("history/shop/prod/prod-1.history.json.attrs"), false);
  });
});

describe("brokenStateRefusal", () => {
  test("names the files, the symptom and rewind recover for the stack asked for", () => {
    assert.equal(
      brokenStateRefusal(
        dir.replace(/\/\.pulumi$/, ""),
        [`${dir}/stacks/shop/dev.json.attrs`],
        "dev",
      ),
      `the Pulumi state in /p/.rewind/state is damaged: 1 attribute file is empty or cut short, ` +
        `as a pulumi killed while writing it leaves them (every pulumi command then says only ` +
        `"error: EOF"): ${dir}/stacks/shop/dev.json.attrs. Nothing was changed; run rewind ` +
        `recover --stack dev: it removes them (the state files they describe are whole), then ` +
        `run this command again`,
    );
  });

  test("several files, no stack asked for", () => {
    const message = brokenStateRefusal(
      "/p",
      ["/p/.pulumi/a.attrs", "/p/.pulumi/b.attrs"],
      undefined,
    );
    assert.match(message, /: 2 attribute files are empty or cut short,/);
    assert.match(message, /"error: EOF"\): \/p\/\.pulumi\/a\.attrs, \/p\/\.pulumi\/b\.attrs\./);
    assert.match(message, /; run rewind recover: it removes them/);
  });
});
