// A release from a registry that wants credentials (scripts/services' auth-registry: Debian's
// docker-registry with htpasswd), through `rewind release` on the real program: a password in
// plain text is refused, a wrong one is refused naming the registry and the key before anything
// changes (exit 2), the right one deploys (digest lookup and the engine's pull), and the
// password is in no state file, history entry, log or report.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { dockerAuthConfig } from "../../adapters/registryAuth";
import { engine, listContainers } from "../../adapters/docker";
import { HAPROXY_IMAGE_VERSION } from "../../adapters/haproxy";
import { freePort } from "../../adapters/ports";
import { LABELS } from "../../domain/dockerLabels";
import { withDatabase } from "./postgres";
import { CliResult, expectCode, pulumi, rewind } from "./rewindCli";
import { hunterStackConfig, repoRoot, requireToolchainEnv, uniqueStackName } from "./workspace";

type Docker = ReturnType<typeof engine>;

function requireServices() {
  const { DOCKER_HOST, REWIND_REGISTRY, REWIND_AUTH_REGISTRY } = process.env;
  const { REWIND_AUTH_REGISTRY_USER, REWIND_AUTH_REGISTRY_PASSWORD } = process.env;
  if (
    !DOCKER_HOST ||
    !REWIND_REGISTRY ||
    !REWIND_AUTH_REGISTRY ||
    !REWIND_AUTH_REGISTRY_USER ||
    !REWIND_AUTH_REGISTRY_PASSWORD
  ) {
    throw new Error(
      "the registries of scripts/services are not in the environment: run scripts/test",
    );
  }
  return {
    plain: REWIND_REGISTRY,
    auth: REWIND_AUTH_REGISTRY,
    user: REWIND_AUTH_REGISTRY_USER,
    password: REWIND_AUTH_REGISTRY_PASSWORD,
  };
}

function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: string | undefined;
    docker.modem.followProgress(
      stream,
      (err: Error | null) =>
        err !== null ? reject(err) : failure !== undefined ? reject(new Error(failure)) : resolve(),
      (event: { error?: string }) => {
        if (event.error !== undefined) failure = event.error;
      },
    );
  });
}

/** Every file under `dir` (recursively) whose bytes contain `secret`. */
function filesContaining(dir: string, secret: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (fs.readFileSync(file).includes(secret)) found.push(file);
  }
  return found;
}

const services = requireServices();
const docker = engine();
// The images a release needs, copied into the authenticated registry (the test's own tags).
const copied = [
  ...["1.0.0", "1.1.0", "1.2.0-bad"].map((tag) => ["hunter", tag]),
  ["rewind-haproxy", HAPROXY_IMAGE_VERSION],
] as const;

before(async () => {
  const auth = dockerAuthConfig(services.auth, {
    username: services.user,
    password: services.password,
  });
  for (const [repo, tag] of copied) {
    const target = `${services.auth}/${repo}`;
    await docker.getImage(`${services.plain}/${repo}:${tag}`).tag({ repo: target, tag });
    await follow(
      docker,
      (await docker
        .getImage(`${target}:${tag}`)
        .push({ tag, authconfig: auth })) as NodeJS.ReadableStream,
    );
    // Untagged again, tag and digest: the engine knows the image under the other registry's
    // name only, so the release's pull by digest must ask the authenticated registry.
    const info = await docker.getImage(`${target}:${tag}`).inspect();
    for (const ref of [
      `${target}:${tag}`,
      ...info.RepoDigests.filter((d) => d.startsWith(`${target}@`)),
    ]) {
      // The digest goes with the repository's last tag, on some engines.
      await docker
        .getImage(ref)
        .remove({ noprune: true })
        .catch((err: { statusCode?: number }) => {
          if (err.statusCode !== 404) throw err;
        });
    }
  }
});

after(async () => {
  for (const [repo, tag] of copied) {
    await docker
      .getImage(`${services.auth}/${repo}:${tag}`)
      .remove({ noprune: true })
      .catch(() => undefined);
  }
});

test("a release from a registry with htpasswd: plain text refused, wrong password refused, right one deploys", async (t) => {
  requireToolchainEnv();
  const store = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-auth-store-"));
  const report = path.join(store, "..", `rewind-auth-report-${randomBytes(3).toString("hex")}.md`);
  const stackName = uniqueStackName("it-auth");
  const port = await freePort();
  const origin = `http://${services.auth}`;
  const wrong = `wrong-${randomBytes(8).toString("hex")}`;
  const outputs: CliResult[] = [];
  const served = async () =>
    ((await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { version: string })
      .version;
  const cli = async (...args: string[]) => {
    const result = await rewind(repoRoot, stackName, ...args);
    outputs.push(result);
    return result;
  };
  const setPassword = (value: string, secret = true) =>
    pulumi(
      repoRoot,
      "config",
      "set",
      "--stack",
      stackName,
      "--path",
      ...(secret ? ["--secret"] : ["--plaintext"]),
      "rewind:app.registry.password",
      value,
    );

  await withDatabase(async (dbUrl) => {
    const stack = await LocalWorkspace.createStack({ stackName, workDir: repoRoot });
    const stackFile = path.join(repoRoot, "stacks", `Pulumi.${stackName}.yaml`);
    try {
      await stack.setAllConfig(
        {
          ...hunterStackConfig({ registry: services.auth, port, dbUrl, store }),
          "rewind:app.health.timeoutSeconds": { value: "8" },
          "rewind:app.registry.username": { value: services.user },
        },
        true,
      );

      // 1. In plain text the password is refused before anything runs.
      await setPassword(services.password, false);
      const plain = await cli("release", "--set", "rewind:app.version=1.0.0");
      expectCode(plain, 2, "release with a plain-text password");
      assert.match(
        plain.stderr,
        /rewind:app\.registry\.password is \[secret\] in plain text; allowed: a Pulumi secret: pulumi config set --secret --path rewind:app\.registry\.password <password>/,
      );

      // 2. The right password, as a secret: digest lookup and pulls go through.
      await setPassword(services.password);
      const v1 = await cli(
        "release",
        "--set",
        "rewind:app.version=1.0.0",
        "--set",
        "rewind:database.revision=0001",
      );
      expectCode(v1, 0, "release 1.0.0 with the right password");
      assert.equal(await served(), "1.0.0");
      const running = await listContainers(docker, {
        [LABELS.stack]: `rewind/${stackName}`,
        [LABELS.role]: "app",
      });
      assert.equal(running.length, 2);
      // The replicas run the authenticated registry's image, which the engine had to pull.
      const image = (await docker.getContainer(running[0].id).inspect()).Config.Image;
      assert.match(image, new RegExp(`^${services.auth.replace(/\./g, "\\.")}/hunter@sha256:`));
      await docker.getImage(image).inspect();
      const before = running.map((c) => c.id).sort();

      // 3. A wrong password: a clear error naming the registry and the key; nothing changes.
      await setPassword(wrong);
      const config = fs.readFileSync(stackFile, "utf8");
      const refused = await cli("release", "--set", "rewind:app.version=1.1.0");
      expectCode(refused, 2, "release 1.1.0 with a wrong password");
      assert.ok(
        refused.stderr.includes(
          `the registry at ${origin} refused the credentials of user "${services.user}" ` +
            "(rewind:app.registry.username, rewind:app.registry.password): HTTP 401",
        ),
        refused.stderr,
      );
      assert.match(refused.stderr, /Nothing was changed/);
      assert.equal(fs.readFileSync(stackFile, "utf8"), config, "the config file is as it was");
      assert.equal(await served(), "1.0.0");
      const after = await listContainers(docker, {
        [LABELS.stack]: `rewind/${stackName}`,
        [LABELS.role]: "app",
      });
      assert.deepEqual(after.map((c) => c.id).sort(), before, "the replicas were not touched");

      // 4. The right one again; a release that fails its gate is rolled back, with a report.
      await setPassword(services.password);
      const bad = await cli("release", "--set", "rewind:app.version=1.2.0-bad", "--report", report);
      expectCode(bad, 1, "release 1.2.0-bad, rolled back");
      assert.equal(await served(), "1.0.0");
      assert.ok(fs.existsSync(report), "the rollback report was written");
      const history = await cli("history", "--json");
      expectCode(history, 0, "history");

      // 5. The password is nowhere: state, history, stack config, proxy state, output, report.
      const backend = (process.env.PULUMI_BACKEND_URL ?? "").replace(/^file:\/\//, "");
      for (const secret of [services.password, wrong]) {
        assert.deepEqual(filesContaining(path.join(backend, ".pulumi"), secret), []);
        assert.deepEqual(filesContaining(path.join(repoRoot, "stacks"), secret), []);
        assert.deepEqual(
          filesContaining(path.join(process.env.REWIND_HOME ?? "", "proxy"), secret),
          [],
        );
        assert.equal(fs.readFileSync(report, "utf8").includes(secret), false, "report");
        for (const out of outputs) {
          assert.equal(out.stdout.includes(secret) || out.stderr.includes(secret), false);
        }
      }
      t.diagnostic(`${outputs.length} rewind commands, none printed the password`);
    } finally {
      await stack.destroy({ onOutput: () => undefined });
      await stack.workspace.removeStack(stack.name);
      fs.rmSync(store, { recursive: true, force: true });
      fs.rmSync(report, { force: true });
    }
  });
});
