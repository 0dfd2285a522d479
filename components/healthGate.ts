import * as pulumi from "@pulumi/pulumi";
import { resourceOptions, token } from "./resourceOptions";
import { ArgumentChecks, isPlain } from "../domain/argumentChecks";
import { gateSchema, healthSchema } from "../domain/config";

/** Arguments of a HealthGate: what must hold after the app changed. */
export interface HealthGateArgs {
  /** Where the app is served, e.g. the router's `http://127.0.0.1:8000`. */
  baseUrl: pulumi.Input<string>;
  /** Liveness path. */
  live: pulumi.Input<string>;
  /** Readiness path. */
  ready: pulumi.Input<string>;
  /** Startup path, probed first when set. @default none */
  startup?: pulumi.Input<string>;
  /** How long the probes may take to pass. */
  timeoutSeconds: pulumi.Input<number>;
  /** Requests that must answer with their status. @default [] */
  smoke?: pulumi.Input<{ path: string; expectStatus: number }[]>;
  /** Queries that must return at least `minRows` rows. @default [] */
  sql?: pulumi.Input<{ query: string; minRows: number }[]>;
  /** The database the SQL checks run against; a secret. */
  databaseUrl: pulumi.Input<string>;
  /** Whether the gate runs at all (policy: mandatory in production). @default true */
  enabled?: pulumi.Input<boolean>;
  /** Dependencies that must accept a TCP connection (Redis, a queue). @default none */
  tcp?: pulumi.Input<{ name: string; host: string; port: number }[]>;
  /** Dependency commands run in a container of `image`; exit 0 passes. @default none */
  command?: pulumi.Input<{ name: string; command: string[] }[]>;
  /** `repo@sha256:…` the dependency commands run in (the app's). @default none */
  image?: pulumi.Input<string>;
  /**
   * Changes whenever what is being gated changes (app digest, schema revision), so the gate
   * runs again after every such change and only then: Pulumi's `replacementTrigger`, not an
   * input the provider sees.
   */
  trigger: pulumi.Input<string>;
}

// The rules of rewind:app.health and rewind:gate, as the config states them.
const PATH = healthSchema.shape.live;
const SMOKE = gateSchema.shape.smoke.unwrap().element;
const SQL = gateSchema.shape.sql.unwrap().element;
const TCP = gateSchema.shape.tcp.unwrap().element;
const COMMAND = gateSchema.shape.command.unwrap().element;

function isHttpUrl(value: unknown): boolean {
  try {
    return ["http:", "https:"].includes(new URL(value as string).protocol);
  } catch {
    return false;
  }
}

// Plain values are checked before anything is registered (argumentChecks.ts); the URL of the
// database is not: it is a secret, and a message must not print it.
function check(name: string, args: HealthGateArgs): void {
  const checks = new ArgumentChecks("HealthGate", name);
  checks.check(
    "baseUrl",
    args.baseUrl,
    isHttpUrl,
    `an http:// or https:// URL, e.g. "http://127.0.0.1:8000"`,
  );
  checks.schema("live", args.live, PATH);
  checks.schema("ready", args.ready, PATH);
  // "" is how the component registers "none".
  if (args.startup !== "") checks.schema("startup", args.startup, PATH);
  checks.schema("timeoutSeconds", args.timeoutSeconds, healthSchema.shape.timeoutSeconds);
  if (isPlain(args.smoke)) {
    args.smoke.forEach((request, i) => checks.schema(`smoke[${i}]`, request, SMOKE));
  }
  if (isPlain(args.sql)) {
    args.sql.forEach((query, i) => checks.schema(`sql[${i}]`, query, SQL));
  }
  if (isPlain(args.tcp)) {
    args.tcp.forEach((dep, i) => checks.schema(`tcp[${i}]`, dep, TCP));
  }
  if (isPlain(args.command)) {
    args.command.forEach((dep, i) => checks.schema(`command[${i}]`, dep, COMMAND));
  }
  checks.throwIfAny();
}

/**
 * The HealthGate: HTTP probes, smoke requests and SQL checks after the app changes. A failed
 * check fails the update, which is what lets `rewind release` roll back automatically.
 */
export class HealthGate extends pulumi.CustomResource {
  static readonly __pulumiType = token("HealthGate");

  static isInstance(obj: unknown): obj is HealthGate {
    return (
      pulumi.CustomResource.isInstance(obj) &&
      (obj as { __pulumiType?: string }).__pulumiType === HealthGate.__pulumiType
    );
  }

  declare public readonly passed: pulumi.Output<boolean>;
  declare public readonly checkedAt: pulumi.Output<string>;

  constructor(name: string, args: HealthGateArgs, opts?: pulumi.CustomResourceOptions) {
    check(name, args);
    // Dependencies are registered only when declared, so other gates' inputs stay as they were.
    const { trigger, tcp, command, image, ...inputs } = args;
    const dependencies = {
      ...(tcp === undefined ? {} : { tcp }),
      ...(command === undefined ? {} : { command, image }),
    };
    super(
      HealthGate.__pulumiType,
      name,
      {
        ...inputs,
        startup: args.startup ?? "",
        smoke: args.smoke ?? [],
        sql: args.sql ?? [],
        enabled: args.enabled ?? true,
        ...dependencies,
        passed: undefined,
        checkedAt: undefined,
      },
      resourceOptions("HealthGate", opts, {
        secretOutputs: ["databaseUrl"],
        replacementTrigger: trigger,
      }),
    );
  }
}
