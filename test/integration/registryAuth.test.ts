// A registry that wants credentials (scripts/services' auth-registry: Debian's docker-registry
// with htpasswd): the digest lookup and the engine's pull, with the right and the wrong
// password. What is asserted is what a user reads: which registry, which config key, and that
// the password is in no message.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { RegistryCredentials, dockerAuthConfig } from "../../adapters/registryAuth";
import { engine, ensureImage } from "../../adapters/docker";
import { listTags, resolveDigest } from "../../adapters/registry";

type Docker = ReturnType<typeof engine>;

function requireServices() {
  const {
    DOCKER_HOST,
    REWIND_REGISTRY,
    REWIND_AUTH_REGISTRY,
    REWIND_AUTH_REGISTRY_USER,
    REWIND_AUTH_REGISTRY_PASSWORD,
  } = process.env;
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
    credentials: { username: REWIND_AUTH_REGISTRY_USER, password: REWIND_AUTH_REGISTRY_PASSWORD },
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

/** The rejection's message, after checking that neither password is in it. */
async function rejection(promise: Promise<unknown>, secrets: readonly string[]): Promise<string> {
  const err = await promise.then(
    () => assert.fail("expected a rejection"),
    (e: unknown) => e as Error,
  );
  for (const secret of secrets) {
    assert.ok(!err.message.includes(secret), `the password is in the message: ${err.message}`);
    assert.ok(!String(err.stack).includes(secret), "the password is in the stack");
  }
  return err.message;
}

describe("a registry with authentication (htpasswd)", () => {
  const docker = engine();
  const { auth, credentials } = requireServices();
  // A repository and content of this run's own: the engine cannot know its manifest from
  // another registry, so every pull below really asks this one.
  const run = randomBytes(4).toString("hex");
  const repository = `rewind-auth-test-${run}`;
  const image = `${auth}/${repository}`;
  const origin = `http://${auth}`;
  const wrong: RegistryCredentials = {
    username: credentials.username,
    password: `wrong-${randomBytes(8).toString("hex")}`,
  };
  const secrets = [credentials.password, wrong.password];
  let pushed = "";

  before(async () => {
    // A one-file image imported from a tarball, pushed with the engine's auth.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-auth-image-"));
    try {
      fs.writeFileSync(path.join(dir, "run"), `${run}\n`);
      execFileSync("tar", ["-C", dir, "-cf", path.join(dir, "image.tar"), "run"]);
      await follow(
        docker,
        (await docker.importImage(path.join(dir, "image.tar"), {
          repo: image,
          tag: "1.0.0",
        })) as NodeJS.ReadableStream,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    await follow(
      docker,
      (await docker.getImage(image).push({
        tag: "1.0.0",
        authconfig: dockerAuthConfig(auth, credentials),
      })) as NodeJS.ReadableStream,
    );
    const info = await docker.getImage(`${image}:1.0.0`).inspect();
    const digest = info.RepoDigests.find((d) => d.startsWith(`${image}@`));
    assert.ok(digest, `the push recorded a digest for ${image}: ${info.RepoDigests.join(", ")}`);
    pushed = digest.slice(image.length + 1);
    // Gone from the engine, layers and all: the pull test must fetch it.
    await docker.getImage(info.Id).remove({ force: true });
  });

  after(async () => {
    // The run's manifest out of the registry again (deletes are enabled in scripts/services).
    if (pushed === "") return;
    const res = await fetch(`${origin}/v2/${repository}/manifests/${pushed}`, {
      method: "DELETE",
      headers: {
        authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`,
      },
    });
    assert.equal(res.status, 202, `DELETE the test manifest: HTTP ${res.status}`);
  });

  test("without credentials: the error names the registry and both config keys", async () => {
    const message = await rejection(resolveDigest(image, "1.0.0"), secrets);
    assert.equal(
      message,
      `the registry at ${origin} wants credentials to pull ${repository} (realm "rewind-auth-registry"); ` +
        "set rewind:app.registry.username and rewind:app.registry.password (pulumi config set --path " +
        "rewind:app.registry.username <user> && pulumi config set --secret --path " +
        "rewind:app.registry.password <password>)",
    );
  });

  test("a wrong password: a clear error naming the registry, the user and the keys", async () => {
    const message = await rejection(resolveDigest(image, "1.0.0", wrong), secrets);
    assert.equal(
      message,
      `the registry at ${origin} refused the credentials of user "${credentials.username}" ` +
        "(rewind:app.registry.username, rewind:app.registry.password): HTTP 401; fix the user or " +
        "the password (pulumi config set --secret --path rewind:app.registry.password <password>)",
    );
  });

  test("the right password resolves the digest the push recorded, and lists the tags", async () => {
    assert.equal(await resolveDigest(image, "1.0.0", credentials), pushed);
    assert.equal(await resolveDigest(image, pushed, credentials), pushed);
    assert.deepEqual(await listTags(image, credentials), ["1.0.0"]);
    const missing = await rejection(resolveDigest(image, "9.9.9", credentials), secrets);
    assert.match(
      missing,
      /has no version "9\.9\.9" in its registry; versions that exist: 1\.0\.0\./,
    );
  });

  test("the engine pulls with the registry's credentials, and not with a wrong password", async () => {
    const ref = `${image}@${pushed}`;
    await assert.rejects(docker.getImage(ref).inspect(), "the engine does not have it yet");
    const message = await rejection(
      ensureImage(docker, ref, dockerAuthConfig(auth, wrong)),
      secrets,
    );
    assert.match(
      message,
      new RegExp(`^docker pull ${ref.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} failed: `),
    );
    assert.match(message, /rewind:app\.registry\.username, rewind:app\.registry\.password/);
    await ensureImage(docker, ref, dockerAuthConfig(auth, credentials));
    const info = await docker.getImage(ref).inspect();
    assert.ok(info.RepoDigests.includes(ref), `the engine has ${ref}`);
    await docker.getImage(info.Id).remove({ force: true });
  });
});
