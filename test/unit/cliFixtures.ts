// History fixtures for the CLI's unit tests: updates shaped as `pulumi stack history --json
// --show-secrets` gives them on the file backend (version 0, newest first, a namespace with a
// secret leaf marked secret as a whole).
import { StackConfig, UpdateRecord } from "../../domain/pins";

export interface Release {
  readonly version: string;
  readonly revision: string;
  readonly result?: string;
  readonly kind?: string;
  readonly message?: string;
  /** Seconds after 2025-11-25T12:00:00Z. */
  readonly at: number;
  readonly took?: number;
  readonly restore?: string | null;
  readonly env?: Record<string, string>;
}

export const T0 = Date.parse("2025-11-25T12:00:00Z");

/** The config an update ran with. */
export function configOf(
  r: Pick<Release, "version" | "revision" | "restore" | "env">,
): StackConfig {
  const app = {
    name: "hunter",
    image: "127.0.0.1:5000/hunter",
    version: r.version,
    replicas: 2,
    port: 8000,
    health: { live: "/healthz/live", ready: "/healthz/ready" },
    env: r.env ?? { API_KEY: "k-123" },
  };
  const database = {
    url: "postgres://rewind:pw@127.0.0.1:5432/hunter",
    migrations: { tool: "sql", dir: "examples/hunter/migrations" },
    revision: r.revision,
  };
  const backup = { store: { kind: "fs", path: "/var/backups/hunter" } };
  const gate = {
    sql: [{ query: "select 1 from items", minRows: 100 }],
    smoke: [{ path: "/items", expectStatus: 200 }],
  };
  const entry = (object: Record<string, unknown>, secret: boolean) => ({
    value: JSON.stringify(object),
    objectValue: object,
    secret,
  });
  return {
    "rewind:app": entry(app, true),
    "rewind:database": entry(database, true),
    "rewind:backup": entry(backup, false),
    "rewind:gate": entry(gate, false),
    "rewind:restore": entry({ snapshot: r.restore ?? null }, false),
    "rewind:target": { value: "docker", secret: false },
    "other:key": { value: "left alone", secret: false },
  };
}

/** Updates as stack.history() returns them: newest first. */
export function historyOf(releases: readonly Release[]): UpdateRecord[] {
  return releases
    .map((r) => ({
      kind: r.kind ?? "update",
      startTime: new Date(T0 + r.at * 1000),
      endTime: new Date(T0 + (r.at + (r.took ?? 30)) * 1000),
      message: r.message ?? `rewind release --set rewind:app.version=${r.version}`,
      result: r.result ?? "succeeded",
      version: 0,
      config: configOf(r),
    }))
    .reverse();
}

/** At `T0 + seconds`, ISO. */
export function at(seconds: number): string {
  return new Date(T0 + seconds * 1000).toISOString();
}
