// rewind:backup.schedule and the units `rewind backup --print-timer` prints (issue 11).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  cronFields,
  describeSchedule,
  onCalendar,
  parseSchedule,
  readSchedule,
  schedulerFiles,
} from "../../domain/backupSchedule";
import { UserError } from "../../domain/errors";

void describe("backup schedules", () => {
  test("each form, as systemd and cron read it (UTC)", () => {
    const cases: [string, string, string, string][] = [
      ["hourly", "*-*-* *:00:00 UTC", "0 * * * *", "hourly at :00 UTC"],
      ["hourly at :15", "*-*-* *:15:00 UTC", "15 * * * *", "hourly at :15 UTC"],
      ["daily at 03:00", "*-*-* 03:00:00 UTC", "0 3 * * *", "daily at 03:00 UTC"],
      [
        "weekly on Sun at 23:59",
        "Sun *-*-* 23:59:00 UTC",
        "59 23 * * 0",
        "weekly on Sun at 23:59 UTC",
      ],
      [
        "weekly on Sat at 00:05",
        "Sat *-*-* 00:05:00 UTC",
        "5 0 * * 6",
        "weekly on Sat at 00:05 UTC",
      ],
    ];
    for (const [text, calendar, cron, words] of cases) {
      const schedule = parseSchedule(text);
      assert.equal(onCalendar(schedule), calendar, text);
      assert.equal(cronFields(schedule), cron, text);
      assert.equal(describeSchedule(schedule), words, text);
    }
  });

  test("anything else is refused, naming the key and the forms", () => {
    for (const text of ["daily", "daily at 3:00", "hourly at 15", "weekly on sun at 03:00", ""]) {
      assert.equal(readSchedule(text), undefined, text);
    }
    assert.throws(
      () => parseSchedule("0 3 * * *"),
      (e: unknown) =>
        e instanceof UserError &&
        e.message.startsWith(`rewind:backup.schedule is "0 3 * * *"; allowed: "hourly[ at :MM]"`),
    );
  });

  test("the units run rewind backup for the stack from the project, the crontab too", () => {
    const files = schedulerFiles(parseSchedule("daily at 03:00"), {
      stack: "org/shop/prod",
      projectDir: "/srv/shop repo",
      command: ["/usr/bin/node", "/srv/shop repo/node_modules/rewind/bin/rewind"],
      environmentFile: "/srv/shop repo/.rewind/backup.env",
    });
    assert.equal(files.unit, "rewind-backup-org-shop-prod");
    assert.ok(files.service.includes('WorkingDirectory="/srv/shop repo"\n'), files.service);
    assert.ok(
      files.service.includes(
        'ExecStart=/usr/bin/node "/srv/shop repo/node_modules/rewind/bin/rewind" backup ' +
          "--stack org/shop/prod --quiet\n",
      ),
      files.service,
    );
    assert.ok(files.timer.includes("OnCalendar=*-*-* 03:00:00 UTC\nPersistent=true\n"));
    assert.equal(
      files.crontab,
      "CRON_TZ=UTC\n0 3 * * * cd '/srv/shop repo' && set -a && . '/srv/shop repo/.rewind/backup.env' " +
        "&& /usr/bin/node '/srv/shop repo/node_modules/rewind/bin/rewind' backup --stack " +
        "org/shop/prod --quiet\n",
    );
  });
});
