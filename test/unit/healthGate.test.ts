// HealthGate under Pulumi's mocks: what it registers (type, name, inputs with their documented
// defaults) and which outputs it declares.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { recordOptions, recordingMocks, secret, value, typedInputs } from "./mocks";
import * as states from "./mockStates";
import { DIGEST } from "./mockStates";

const TYPE = "rewind:index:HealthGate";
const URL = "postgres://rewind:pw@127.0.0.1:5432/hunter";

const registrations = recordingMocks({ [TYPE]: states.healthGate });

/* eslint-disable @typescript-eslint/no-require-imports */
const { HealthGate } =
  require("../../components/healthGate") as typeof import("../../components/healthGate");
/* eslint-enable @typescript-eslint/no-require-imports */

const REQUIRED = {
  baseUrl: "http://127.0.0.1:8000",
  live: "/healthz/live",
  ready: "/healthz/ready",
  timeoutSeconds: 30,
  databaseUrl: URL,
  trigger: `${DIGEST}@0002`,
};

describe("HealthGate", () => {
  test("the required inputs as given, every optional one at its documented default", async () => {
    registrations.length = 0;
    const options = new Map<string, pulumi.CustomResourceOptions>();
    const gate = new HealthGate("hunter-gate", REQUIRED, recordOptions(options));
    await value(gate.passed);
    assert.deepEqual(
      registrations.map((r) => [r.type, r.name]),
      [[TYPE, "hunter-gate"]],
    );
    const { trigger, ...required } = REQUIRED;
    assert.deepEqual(typedInputs(registrations[0]), {
      ...required,
      // "none": the provider probes no startup path when it is empty.
      startup: "",
      smoke: [],
      sql: [],
      enabled: true,
    });
    assert.deepEqual(options.get("hunter-gate")!.additionalSecretOutputs, ["databaseUrl"]);
    assert.equal(options.get("hunter-gate")!.replacementTrigger, trigger);
  });

  test("every input given is passed through as given, secrets still secret", async () => {
    registrations.length = 0;
    const options = new Map<string, pulumi.CustomResourceOptions>();
    const given = {
      live: "/live",
      ready: "/ready",
      startup: "/started",
      timeoutSeconds: 5,
      smoke: [{ path: "/items", expectStatus: 200 }],
      sql: [{ query: "SELECT 1 FROM items", minRows: 2 }],
      enabled: false,
    };
    const gate = new HealthGate(
      "full",
      {
        ...given,
        baseUrl: pulumi.output("http://127.0.0.1:8100"),
        databaseUrl: pulumi.secret(URL),
        trigger: pulumi.interpolate`${DIGEST}@0003`,
      },
      { ...recordOptions(options), additionalSecretOutputs: ["baseUrl"] },
    );
    await value(gate.passed);
    assert.deepEqual(typedInputs(registrations[0]), {
      ...given,
      baseUrl: "http://127.0.0.1:8100",
      databaseUrl: secret(URL),
    });
    const trigger = options.get("full")!.replacementTrigger as pulumi.Output<string>;
    assert.equal(await value(trigger), `${DIGEST}@0003`, "Pulumi's replacementTrigger");
    // The caller's own secret outputs are kept; the URL is added.
    assert.deepEqual(options.get("full")!.additionalSecretOutputs, ["baseUrl", "databaseUrl"]);
  });

  test("declares every output the provider returns", async () => {
    registrations.length = 0;
    const gate = new HealthGate("outputs", REQUIRED);
    assert.deepEqual(
      {
        id: await value(gate.id),
        passed: await value(gate.passed),
        checkedAt: await value(gate.checkedAt),
      },
      { id: "gate-1", passed: true, checkedAt: "2026-11-26T01:06:00.000Z" },
    );
  });

  test("bad plain arguments fail before anything is registered, each named", () => {
    registrations.length = 0;
    assert.throws(
      () =>
        new HealthGate("bad", {
          ...REQUIRED,
          baseUrl: "127.0.0.1:8000",
          live: "healthz/live",
          ready: "/healthz/ ready",
          startup: "started",
          timeoutSeconds: 0,
          smoke: [
            { path: "/items", expectStatus: 200 },
            { path: "items", expectStatus: 99 },
          ],
          sql: [{ query: " ", minRows: -1 }],
        }),
      (err: Error) => {
        assert.equal(err.name, "UserError");
        assert.deepEqual(err.message.split("\n"), [
          `HealthGate "bad": baseUrl is "127.0.0.1:8000"; allowed: an http:// or https:// URL, ` +
            `e.g. "http://127.0.0.1:8000"`,
          `HealthGate "bad": live is "healthz/live"; allowed: a URL path starting with "/"`,
          `HealthGate "bad": ready is "/healthz/ ready"; allowed: a URL path starting with "/"`,
          `HealthGate "bad": startup is "started"; allowed: a URL path starting with "/"`,
          `HealthGate "bad": timeoutSeconds is 0; allowed: an integer number of seconds, at ` +
            `least 1`,
          `HealthGate "bad": smoke[1].path is "items"; allowed: a URL path starting with "/"`,
          `HealthGate "bad": smoke[1].expectStatus is 99; allowed: an HTTP status from 100 to 599`,
          `HealthGate "bad": sql[0].query is " "; allowed: a non-empty string (an SQL query)`,
          `HealthGate "bad": sql[0].minRows is -1; allowed: an integer of at least 0`,
        ]);
        return true;
      },
    );
    assert.deepEqual(registrations, []);
  });

  test("values given as Outputs are left to the provider", async () => {
    registrations.length = 0;
    const gate = new HealthGate("later", {
      ...REQUIRED,
      baseUrl: pulumi.output("not a URL"),
      live: pulumi.output("live"),
      timeoutSeconds: pulumi.output(0),
      smoke: pulumi.output([{ path: "items", expectStatus: 99 }]),
    });
    await value(gate.passed);
    assert.deepEqual(
      registrations.map((r) => r.name),
      ["later"],
    );
  });
});
