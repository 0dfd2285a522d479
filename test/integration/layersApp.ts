// layers-app (test/fixtures/layers-app): the integration tests' own service, not the sample's.
// Its images are built here as scripts/images builds hunter-alembic's: on the Alembic base image
// that script imports from a debootstrap tarball (nothing is pulled), then pushed to the local
// registry. Each version's image is the same project with its own APP_VERSION.
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { repoRoot, timed } from "./workspace";

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
