import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UserError } from "../../domain/errors";
import { toEntries } from "../../domain/pins";
import { parseRollbackTime, updateAtTime } from "../../domain/rollbackTime";
import { T0, historyOf } from "./cliFixtures";

// Updates 1..4: 1.0.0 finished at T0+30s, 1.1.0 at T0+645s, 1.2.0-bad failed at T0+1290s,
// 1.1.0 again (the automatic rollback) at T0+1330s.
const entries = toEntries(
  historyOf([
    { version: "1.0.0", revision: "0001", at: 0 },
    { version: "1.1.0", revision: "0002", at: 600, took: 45 },
    { version: "1.2.0-bad", revision: "0002", at: 1200, result: "failed", took: 90 },
    { version: "1.1.0", revision: "0002", at: 1300 },
  ]),
);
const at = (seconds: number) => new Date(T0 + seconds * 1000);

describe("parseRollbackTime", () => {
  test("a time without a zone is UTC, seconds optional, T or a space", () => {
    assert.equal(parseRollbackTime("2026-11-30T23:57").toISOString(), "2026-11-30T23:57:00.000Z");
    assert.equal(
      parseRollbackTime("2026-11-30 23:57:09").toISOString(),
      "2026-11-30T23:57:09.000Z",
    );
  });

  test("Z and offsets move the instant", () => {
    assert.equal(parseRollbackTime("2026-11-30T23:57Z").toISOString(), "2026-11-30T23:57:00.000Z");
    assert.equal(
      parseRollbackTime("2026-12-01T02:57+03:00").toISOString(),
      "2026-11-30T23:57:00.000Z",
    );
    assert.equal(
      parseRollbackTime("2026-11-30T18:27-0530").toISOString(),
      "2026-11-30T23:57:00.000Z",
    );
  });

  const refused: [string, RegExp][] = [
    ["yesterday", /not a time as YYYY-MM-DDTHH:MM\[:SS\], UTC unless/],
    ["2026-11-30", /not a time as/],
    ["30.11.2026 23:57", /not a time as/],
    ["2026-11-30T23:57:00.123Z", /not a time as/],
    ["2026-02-30T10:00", /no such date or time of day/],
    ["2026-11-30T24:00", /no such date or time of day/],
    ["2026-11-30T23:60", /no such date or time of day/],
    ["2026-11-30T23:57+15:00", /offset \+15:00 is not a time zone \(from -14:00 to \+14:00\)/],
    ["2026-11-30T23:57+03:75", /offset \+03:75 is not a time zone/],
  ];
  for (const [text, message] of refused) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseRollbackTime(text),
        (e: unknown) => e instanceof UserError && message.test(e.message),
      );
    });
  }
});

describe("updateAtTime", () => {
  test("the last succeeded update that had finished by then", () => {
    assert.equal(updateAtTime(entries, at(30)).number, 1);
    assert.equal(updateAtTime(entries, at(644)).number, 1);
    assert.equal(updateAtTime(entries, at(645)).number, 2);
  });

  test("a failed update never served: the one before it did", () => {
    assert.equal(updateAtTime(entries, at(1295)).number, 2);
  });

  test("after the last update: the last succeeded one", () => {
    assert.equal(updateAtTime(entries, at(86_400)).number, 4);
  });

  test("before any succeeded update: refused, naming the first", () => {
    assert.throws(
      () => updateAtTime(entries, at(10)),
      (e: unknown) =>
        e instanceof UserError &&
        e.message ===
          `--to-time ${at(10).toISOString()}: no update had succeeded by then; the first ` +
            `succeeded update is 1, finished at ${at(30).toISOString()} (see rewind history)`,
    );
    assert.throws(() => updateAtTime([], at(10)), /the stack has no succeeded update yet/);
  });

  test("an update without an end time was still running", () => {
    const running = entries.map((e) => (e.number === 4 ? { ...e, endTime: undefined } : e));
    assert.equal(updateAtTime(running, at(86_400)).number, 2);
  });
});
