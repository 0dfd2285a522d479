// layers-app (test/fixtures/layers-app): the integration tests' own service, not the sample's.
// Its images are built here as scripts/images builds hunter-alembic's: on the Alembic base image
// that script imports from a debootstrap tarball (nothing is pulled), then pushed to the local
// registry. Each version's image is the same project with its own APP_VERSION. Below them, the
// stack helpers the layers tests share: the config, a stack of the test's own, a release.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { ConfigMap, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { freePort } from "../../adapters/ports";
import { SCRATCH_PREFIX } from "../../adapters/rehearsal";
import { sql, withDatabase } from "./postgres";
import { CliResult, rewind } from "./rewindCli";
import { repoRoot, requireToolchainEnv, timed, uniqueStackName } from "./workspace";

const run = promisify(execFile);
export const LAYERS_APP_DIR = path.join(repoRoot, "test", "fixtures", "layers-app");

async function docker(...args: string[]): Promise<string> {
  // The classic builder, as scripts/images: Debian's docker.io has no buildx.
  const { stdout } = await run("docker", args, {
    env: { ...process.env, DOCKER_BUILDKIT: "0" },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** The Alembic base image scripts/images imported into this engine. */
async function alembicBase(): Promise<string> {
  const tags = (
    await docker("images", "--format", "{{.Repository}}:{{.Tag}}", "rewind/alembic-base")
  )
    .split("\n")
    .filter((t) => t !== "" && !t.endsWith(":<none>"));
  if (tags.length === 0) {
    throw new Error("no rewind/alembic-base image in this engine: run scripts/images first");
  }
  return tags[0];
}

/**
 * Builds and pushes `<registry>/<name>:<version>` for each version; returns the repository.
 * Each test file names its own repository: files run side by side, and a tag pushed by one
 * must not move under another.
 */
export async function buildLayersApp(name: string, versions: readonly string[]): Promise<string> {
  const registry = process.env.REWIND_REGISTRY;
  if (!registry) throw new Error("REWIND_REGISTRY is not set: source scripts/env.sh");
  const repository = `${registry}/${name}`;
  const base = await alembicBase();
  for (const version of versions) {
    await timed(`build ${name}:${version}`, async () => {
      await docker(
        "build",
        "--quiet",
        "--build-arg",
        `BASE_IMAGE=${base}`,
        "--build-arg",
        `APP_VERSION=${version}`,
        "--tag",
        `${repository}:${version}`,
        LAYERS_APP_DIR,
      );
      await docker("push", `${repository}:${version}`);
    });
  }
  return repository;
}

/**
 * The scratch copies of `database` still on the server (`rewind_rehearsal_<hex>_<database>`);
 * other files' copies of their own databases may exist meanwhile.
 */
export async function scratchCopies(url: string, database: string): Promise<unknown[]> {
  return sql(url, "SELECT datname FROM pg_database WHERE datname LIKE $1", [
    `${SCRATCH_PREFIX}%_${database}`,
  ]);
}

/** The revision Alembic recorded in the database (alembic_version). */
export async function alembicVersion(url: string): Promise<string> {
  const rows = await sql<{ version_num: string }>(url, "SELECT version_num FROM alembic_version");
  return rows.map((r) => r.version_num).join(",");
}

/**
 * layers-app's stack config without the pins (app.version, database.revision) each test sets:
 * Alembic with the fixture's three revisions (0003's downgrade raises), a free port, the test's
 * own database (a secret) and backup store.
 */
export function layersStackConfig(at: {
  repository: string;
  port: number;
  dbUrl: string;
  store: string;
}): ConfigMap {
  return {
    "rewind:app.name": { value: "layers" },
    "rewind:app.image": { value: at.repository },
    "rewind:app.port": { value: String(at.port) },
    "rewind:app.health.timeoutSeconds": { value: "20" },
    "rewind:database.url": { value: at.dbUrl, secret: true },
    "rewind:database.migrations.tool": { value: "alembic" },
    "rewind:database.migrations.revisions[0]": { value: "0001" },
    "rewind:database.migrations.revisions[1]": { value: "0002" },
    "rewind:database.migrations.revisions[2]": { value: "0003" },
    "rewind:backup.store.kind": { value: "fs" },
    "rewind:backup.store.path": { value: at.store },
  };
}

/** A layers-app stack on the real program, as {@link withLayersStack} hands it to a test. */
export interface LayersStack {
  readonly name: string;
  readonly stack: Stack;
  readonly dbUrl: string;
  /** The database's name, which its scratch copies carry. */
  readonly dbName: string;
  readonly store: string;
  readonly port: number;
  /** `rewind <args>` against this stack, timed under `label`. */
  cli(label: string, ...args: string[]): Promise<CliResult>;
  /** The version the app answers on /version. */
  served(): Promise<string>;
}

/**
 * Runs `body` against a fresh layers-app stack (layersStackConfig plus `config`) with its own
 * database, port and backup store; destroys and removes all of them whatever happened.
 */
export async function withLayersStack<T>(
  prefix: string,
  repository: string,
  config: ConfigMap,
  body: (stack: LayersStack) => Promise<T>,
): Promise<T> {
  requireToolchainEnv();
  const store = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-layers-store-"));
  const port = await freePort();
  const name = uniqueStackName(prefix);
  try {
    return await withDatabase(async (dbUrl, dbName) => {
      const stack = await LocalWorkspace.createStack({ stackName: name, workDir: repoRoot });
      try {
        await stack.setAllConfig(
          { ...layersStackConfig({ repository, port, dbUrl, store }), ...config },
          true,
        );
        return await body({
          name,
          stack,
          dbUrl,
          dbName,
          store,
          port,
          cli: (label, ...args) => timed(label, () => rewind(repoRoot, name, ...args)),
          served: async () =>
            (
              (await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as {
                version: string;
              }
            ).version,
        });
      } finally {
        await stack.destroy({ onOutput: () => undefined });
        await stack.workspace.removeStack(stack.name);
      }
    });
  } finally {
    fs.rmSync(store, { recursive: true, force: true });
  }
}

/** `rewind release --set rewind:app.version=V --set rewind:database.revision=R [more…]`. */
export function release(
  stack: LayersStack,
  version: string,
  revision: string,
  ...more: string[]
): Promise<CliResult> {
  return stack.cli(
    `release ${version} at ${revision}${more.length > 0 ? ` ${more.join(" ")}` : ""}`,
    "release",
    "--set",
    `rewind:app.version=${version}`,
    "--set",
    `rewind:database.revision=${revision}`,
    ...more,
  );
}
