// Rewind installed into a team's folder as from a registry: the tarball `npm pack` makes of this
// checkout, installed by `npm ci --offline`. Its dependencies come from npm's cache, which the
// bootstrap's `npm ci` filled; nothing is downloaded.
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "./workspace";

interface LockEntry {
  dev?: boolean;
  devOptional?: boolean;
  [field: string]: unknown;
}

interface Manifest {
  version: string;
  license?: string;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
}

/**
 * Packs this checkout into `dir`, writes the team's package.json (`name`, Rewind as a dev
 * dependency) and a lockfile of the tarball and Rewind's runtime dependencies, then runs
 * `npm ci --offline` there. Install scripts stay off, as in Rewind's own `.npmrc`: the @pulumi
 * packages' scripts would download plugins.
 */
export function installPacked(dir: string, name: string): void {
  const [packed] = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--pack-destination", dir], {
      cwd: repoRoot,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }),
  ) as { filename: string }[];
  const tarball = `file:${packed.filename}`;
  const integrity =
    "sha512-" +
    crypto
      .createHash("sha512")
      .update(fs.readFileSync(path.join(dir, packed.filename)))
      .digest("base64");
  const manifest = JSON.parse(
    fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"),
  ) as Manifest;
  const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  // Rewind's own dependencies, hoisted as in its lockfile; in the team's tree all are dev.
  const runtime = Object.entries(lock.packages)
    .filter(([key, entry]) => key.startsWith("node_modules/") && !entry.dev && !entry.devOptional)
    .map(([key, entry]) => [key, { ...entry, dev: true }]);
  const devDependencies = { rewind: tarball };
  fs.writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name, private: true, devDependencies }, null, 2),
  );
  fs.writeFileSync(
    path.join(dir, "package-lock.json"),
    JSON.stringify(
      {
        name,
        lockfileVersion: 3,
        requires: true,
        packages: {
          "": { name, devDependencies },
          "node_modules/rewind": {
            version: manifest.version,
            resolved: tarball,
            integrity,
            dev: true,
            license: manifest.license,
            dependencies: manifest.dependencies,
            bin: manifest.bin,
            engines: manifest.engines,
          },
          ...Object.fromEntries(runtime),
        },
      },
      null,
      2,
    ),
  );
  execFileSync("npm", ["ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"], {
    cwd: dir,
    stdio: ["ignore", "ignore", "inherit"],
  });
}
