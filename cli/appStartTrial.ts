// The maintenance order, detected (issue 11): before a way down whose steps no declaration puts
// in the maintenance order, the version the rollback pins is started on a scratch copy of the
// schema that runs now. `rewind plan` and `rewind rollback` (cli/plan.ts) and `rewind release`'s
// automatic rollback (cli/release.ts) use it; what the outcome means is decided in
// domain/rehearsal.ts, the container and the copy are adapters/appStart.ts and
// adapters/rehearsal.ts.
import { startAppOnCopy } from "../adapters/appStart";
import { readAlembicRevision } from "../adapters/alembic";
import { withClient } from "../adapters/postgres";
import { resolveDigest } from "../adapters/registry";
import { withScratchCopy } from "../adapters/rehearsal";
import { HEALTH_TIMEOUT_SECONDS_DEFAULT } from "../domain/config";
import { StackConfig, isRecord, namespaceObject, readPins } from "../domain/pins";
import { AppStartTrial, undeclaredStepsDown } from "../domain/rehearsal";
import { CliIo } from "./options";

/** A trial, or why none ran when one was wanted; neither when none was wanted. */
export interface Detection {
  readonly trial?: AppStartTrial;
  readonly note?: string;
}

/** The way back a trial is for. */
export interface WayBack {
  /** The config that runs now: its database URL (secrets decrypted). */
  readonly currentConfig: StackConfig;
  /** The config the way back pins: the version to start, its env, health and target. */
  readonly targetConfig: StackConfig;
  /** The app version that runs now. */
  readonly appFrom: string | undefined;
  /** The revision the schema is at now, and the one the way back pins. */
  readonly from: string;
  readonly to: string;
  /** Every Alembic revision id, oldest first (the order the program plans by). */
  readonly order: readonly string[];
  /** The maintenance revisions declared by either config. */
  readonly declared: readonly string[];
}

/**
 * Starts the pinned version on a copy of the schema now when the way back crosses steps that no
 * declaration covers and the app version changes; otherwise nothing is wanted.
 */
export async function detectOnTheWayBack(
  way: WayBack,
  io: CliIo,
  quiet: boolean,
): Promise<Detection> {
  const app = namespaceObject(way.targetConfig, "rewind:app") ?? {};
  const version = typeof app.version === "string" ? app.version : undefined;
  const steps = undeclaredStepsDown(way.order, way.from, way.to, way.declared);
  if (steps.length === 0 || version === undefined || version === way.appFrom) {
    return {};
  }
  if (way.targetConfig["rewind:target"]?.value === "kubernetes") {
    return {
      note:
        `not detected: the Kubernetes target starts no trial of ${version} (detection is ` +
        `Docker-only); app first, unless rewind:database.migrations.maintenance declares ` +
        `${steps.join(", ")}`,
    };
  }
  if (!quiet) {
    io.stderr(
      `Starting ${version} on a copy of the schema at ${way.from} (${steps.join(", ")} not ` +
        `declared in rewind:database.migrations.maintenance)…\n`,
    );
  }
  return startOnCopy(way, version, steps);
}

/** Starts `version` of the target config on a scratch copy of the schema now. */
export async function startOnCopy(
  way: Pick<WayBack, "currentConfig" | "targetConfig" | "from">,
  version: string,
  steps: readonly string[],
): Promise<Detection> {
  const database = namespaceObject(way.currentConfig, "rewind:database") ?? {};
  const url = typeof database.url === "string" ? database.url : undefined;
  const pinned = readPins(way.targetConfig);
  const app = namespaceObject(way.targetConfig, "rewind:app") ?? {};
  if (url === undefined) {
    return { note: "not detected: the stack's config has no database URL" };
  }
  if (pinned.image === undefined || pinned.appName === undefined) {
    return { note: "not detected: the pinned config names no app image" };
  }
  const timeoutSeconds = pinned.healthTimeoutSeconds ?? HEALTH_TIMEOUT_SECONDS_DEFAULT;
  // As the deployment probes a new replica: the startup path first, then readiness.
  const paths = [pinned.gate?.startup, pinned.gate?.ready ?? "/healthz/ready"].filter(
    (p): p is string => p !== undefined,
  );
  const env = isRecord(app.env)
    ? Object.fromEntries(
        Object.entries(app.env).filter((e): e is [string, string] => typeof e[1] === "string"),
      )
    : {};
  const image = pinned.image;
  const service = pinned.appName;
  try {
    const digest = await resolveDigest(image, version);
    const outcome = await withScratchCopy(
      { databaseUrl: url, purpose: "the app trial's copy" },
      (scratchUrl) =>
        startAppOnCopy({
          service,
          version,
          image: `${image}@${digest}`,
          env,
          databaseUrl: scratchUrl,
          paths,
          timeoutSeconds,
        }),
    );
    return {
      trial: { version, revision: way.from, steps, timeoutSeconds, ...outcome },
    };
  } catch (error) {
    return { note: `not detected: ${(error as Error).message}` };
  }
}

/** The Alembic revision the real database is at now (what a failed update left). */
export async function alembicRevisionNow(config: StackConfig): Promise<string | undefined> {
  const url = namespaceObject(config, "rewind:database")?.url;
  if (typeof url !== "string") return undefined;
  try {
    return await withClient(url, readAlembicRevision, { applicationName: "rewind-release" });
  } catch {
    return undefined;
  }
}
