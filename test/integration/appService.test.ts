// AppService on the real Docker Engine, registry and PostgreSQL of scripts/services, through the
// real Pulumi engine: what a user checks is what is asserted: the version the proxy serves,
// that a release drops no request, that a broken release leaves the old version serving, and
// that `pulumi refresh` sees a replica removed by hand.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { Stack } from "@pulumi/pulumi/automation";
import { engine, listContainers } from "../../adapters/docker";
import { HAPROXY_IMAGE_VERSION, currentUpstreams } from "../../adapters/haproxy";
import { freePort } from "../../adapters/ports";
import { listTags } from "../../adapters/registry";
import { LABELS } from "../../domain/dockerLabels";
import { SOCKET_FILE } from "../../domain/haproxyConfig";
import { repoRoot, withStack } from "./workspace";

const project = path.join(repoRoot, "test", "fixtures", "app");
const READY_TIMEOUT_SECONDS = 8;
const quiet = { onOutput: () => undefined };

function requireServices(): { registry: string; databaseUrl: string } {
  const registry = process.env.REWIND_REGISTRY;
  const databaseUrl = process.env.REWIND_PG_URL;
  if (!process.env.DOCKER_HOST || !registry || !databaseUrl) {
    throw new Error("DOCKER_HOST, REWIND_REGISTRY or REWIND_PG_URL is not set: run scripts/test");
  }
  return { registry, databaseUrl };
}

async function requireImages(registry: string): Promise<void> {
  const hunter = (await listTags(`${registry}/hunter`)) ?? [];
  const proxy = (await listTags(`${registry}/rewind-haproxy`)) ?? [];
  for (const tag of ["1.0.0", "1.1.0", "1.2.0-bad"]) {
    assert.ok(hunter.includes(tag), `hunter:${tag} is not in ${registry}: run scripts/images`);
  }
  assert.ok(
    proxy.includes(HAPROXY_IMAGE_VERSION),
    `rewind-haproxy:${HAPROXY_IMAGE_VERSION} is not in ${registry}: run scripts/images`,
  );
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  assert.equal(res.status, 200, `GET ${url}`);
  return res.json();
}

/** The app containers of one service of the stack, as the engine reports them. */
async function appContainers(stackId: string, service = "hunter") {
  const found = await listContainers(engine(), {
    [LABELS.stack]: stackId,
    [LABELS.service]: service,
    [LABELS.role]: "app",
  });
  return found.map((c) => ({ id: c.id, state: c.state, version: c.labels[LABELS.version] }));
}

/** The front-door containers (HAProxy, or a router) of one service of the stack. */
async function proxies(stackId: string, service: string) {
  const found = await listContainers(engine(), {
    [LABELS.stack]: stackId,
    [LABELS.service]: service,
  });
  return found.filter((c) => c.labels[LABELS.role] !== "app").map((c) => c.id);
}

/** What the service's HAProxy serves now, through its admin socket. */
async function served(stackId: string, service = "hunter"): Promise<string[]> {
  const [proxy] = await listContainers(engine(), {
    [LABELS.stack]: stackId,
    [LABELS.service]: service,
    [LABELS.role]: "proxy",
  });
  assert.ok(proxy, `a proxy runs for ${service}`);
  return currentUpstreams(path.join(proxy.labels[LABELS.state], SOCKET_FILE));
}

/**
 * Polls the proxy every 20 ms until stopped: every failure, and /version every 5th time
 * (`versions`: each change of answer; `sinceMark`: every answer after `mark()`).
 */
function startPolling(url: string) {
  const result = {
    requests: 0,
    failures: [] as string[],
    versions: [] as string[],
    sinceMark: [] as string[],
  };
  let running = true;
  let marked = false;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const target = i % 5 === 4 ? "/version" : "/healthz/live";
      try {
        const res = await fetch(`${url}${target}`, { signal: AbortSignal.timeout(2_000) });
        const body = await res.text();
        result.requests++;
        if (res.status !== 200) {
          result.failures.push(`${target}: HTTP ${res.status} ${body}`);
        } else if (target === "/version") {
          const { version } = JSON.parse(body) as { version: string };
          if (result.versions.at(-1) !== version) result.versions.push(version);
          if (marked) result.sinceMark.push(version);
        }
      } catch (err) {
        result.requests++;
        result.failures.push(`${target}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    mark: () => {
      marked = true;
    },
    stop: async () => {
      running = false;
      await loop;
      return result;
    },
  };
}

/** The stack's checkpoint in the file backend, as written to disk. */
function checkpointPath(stack: Stack): string {
  const backend = process.env.PULUMI_BACKEND_URL ?? "";
  assert.match(backend, /^file:\/\//, "the tests run on a file backend");
  return path.join(
    backend.slice("file://".length),
    ".pulumi",
    "stacks",
    "rewind-app",
    `${stack.name}.json`,
  );
}

/** The hunter DockerDeployment's outputs as recorded in the stack's state. */
async function deploymentState(stack: Stack): Promise<Record<string, unknown>> {
  const exported = await stack.exportStack();
  const resources = (exported.deployment as { resources: { urn: string; outputs: object }[] })
    .resources;
  const found = resources.find((r) =>
    r.urn.endsWith("$rewind:index:DockerDeployment::hunter-deployment"),
  );
  assert.ok(found, "the DockerDeployment is in the state");
  return found.outputs as Record<string, unknown>;
}

test("AppService on Docker: deploy, zero-downtime update, gated bad release, missing version, refresh", async (t) => {
  const { registry, databaseUrl } = requireServices();
  await requireImages(registry);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The config still checks that port..port+replicas-1 ranges do not overlap.
  const workerPort = await freePort(new Set([port, port + 1]));
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  const timed = async <T>(what: string, body: () => Promise<T>): Promise<T> => {
    const start = Date.now();
    try {
      return await body();
    } finally {
      t.diagnostic(`${what}: ${((Date.now() - start) / 1000).toFixed(1)}s`);
    }
  };
  let stackId = "";

  await withStack(project, "app", async (stack) => {
    stackId = `rewind-app/${stack.name}`;
    await stack.setAllConfig(
      {
        "rewind:app.name": { value: "hunter" },
        "rewind:app.image": { value: `${registry}/hunter` },
        "rewind:app.version": { value: "1.0.0" },
        "rewind:app.replicas": { value: "2" },
        "rewind:app.port": { value: String(port) },
        "rewind:app.health.timeoutSeconds": { value: String(READY_TIMEOUT_SECONDS) },
        "rewind:app.env.DATABASE_URL": { value: databaseUrl, secret: true },
        // A second service from the same image: its own command, replicas, port and proxy.
        "rewind:app.services[0].name": { value: "worker" },
        "rewind:app.services[0].command[0]": { value: "node" },
        "rewind:app.services[0].command[1]": { value: "server.js" },
        "rewind:app.services[0].replicas": { value: "1" },
        "rewind:app.services[0].port": { value: String(workerPort) },
      },
      true,
    );

    // 1. Deploy 1.0.0 with two replicas behind the proxy.
    const first = await timed("up 1.0.0", () => stack.up(quiet));
    assert.equal(first.outputs.version.value, "1.0.0");
    assert.equal(first.outputs.url.value, url);
    assert.deepEqual(await getJson(`${url}/version`), { version: "1.0.0" });
    const v1 = await appContainers(stackId);
    assert.deepEqual(
      v1.map((c) => [c.state, c.version]),
      [
        ["running", "1.0.0"],
        ["running", "1.0.0"],
      ],
    );
    assert.equal((await served(stackId)).length, 2);
    assert.deepEqual(first.outputs.serviceUrls.value, [workerUrl]);
    assert.deepEqual(await getJson(`${workerUrl}/version`), { version: "1.0.0" });
    assert.deepEqual(
      (await appContainers(stackId, "worker")).map((c) => [c.state, c.version]),
      [["running", "1.0.0"]],
    );
    // The env (DATABASE_URL) is a secret in the state, never plain text.
    const env = (await deploymentState(stack)).env as Record<string, unknown>;
    assert.equal(env["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270");
    // exportStack shows secrets decrypted; the checkpoint file is what is stored.
    assert.equal(fs.readFileSync(checkpointPath(stack), "utf8").includes(databaseUrl), false);

    // 2. Update to 1.1.0 while a client polls through the proxy: no request may fail.
    await stack.setConfig("rewind:app.version", { value: "1.1.0" }, true);
    // The preview knows no digest yet: the deployment must still check and show as an update.
    const preview = await timed("preview 1.1.0", () => stack.preview(quiet));
    assert.deepEqual(preview.changeSummary, { replace: 2, update: 2, same: 5 });
    const polling = startPolling(url);
    await new Promise((r) => setTimeout(r, 300));
    const second = await timed("up 1.1.0 (polled)", () => stack.up(quiet));
    polling.mark();
    await new Promise((r) => setTimeout(r, 1_000));
    const polled = await polling.stop();
    t.diagnostic(`polled ${polled.requests} requests during the update: ${polled.versions}`);
    assert.deepEqual(polled.failures, []);
    assert.ok(polled.requests > 100, `only ${polled.requests} requests were made`);
    // Both versions serve between filling the new slots and draining the old ones (that overlap
    // is the zero-downtime switch), so a client may meet them in turn; once up returns, only 1.1.0.
    assert.equal(polled.versions[0], "1.0.0");
    assert.equal(polled.versions.at(-1), "1.1.0");
    assert.deepEqual([...new Set(polled.versions)].sort(), ["1.0.0", "1.1.0"]);
    assert.ok(polled.sinceMark.length > 0, "/version was polled after up returned");
    assert.deepEqual([...new Set(polled.sinceMark)], ["1.1.0"]);
    assert.equal(second.outputs.version.value, "1.1.0");
    const v2 = await appContainers(stackId);
    assert.deepEqual(
      v2.map((c) => c.version),
      ["1.1.0", "1.1.0"],
      "the old replicas are gone",
    );
    assert.deepEqual(await getJson(`${workerUrl}/version`), { version: "1.1.0" });

    // 3. A release that never gets ready fails the update; 1.1.0 keeps serving.
    await stack.setConfig("rewind:app.version", { value: "1.2.0-bad" }, true);
    let output = "";
    await timed("up 1.2.0-bad (refused)", () =>
      assert.rejects(stack.up({ onOutput: (s) => (output += s) }), (err: Error) =>
        new RegExp(
          `hunter 1\\.2\\.0-bad did not become ready within ${READY_TIMEOUT_SECONDS}s ` +
            `\\(health\\.timeoutSeconds\\): 2 of 2 new replica\\(s\\) never answered 2xx on ` +
            `GET /healthz/ready; last answer to GET /healthz/ready: HTTP 503 .*` +
            `The new replicas were removed; 1\\.1\\.0 keeps serving\\.`,
        ).test(err.message + output),
      ),
    );
    assert.deepEqual(await getJson(`${url}/version`), { version: "1.1.0" });
    assert.deepEqual(await appContainers(stackId), v2, "the 1.1.0 replicas were not touched");
    assert.deepEqual(await getJson(`${workerUrl}/version`), { version: "1.1.0" });

    // 4. A version the registry does not have: a clear error, and nothing changes.
    await stack.setConfig("rewind:app.version", { value: "9.9.9" }, true);
    output = "";
    await timed("up 9.9.9 (refused)", () =>
      assert.rejects(stack.up({ onOutput: (s) => (output += s) }), (err: Error) =>
        (err.message + output).includes(
          `image ${registry}/hunter has no version "9.9.9" in its registry; versions that ` +
            `exist: 1.0.0, 1.1.0, 1.2.0-bad. Pin one of them, or push 9.9.9 first`,
        ),
      ),
    );
    assert.deepEqual(await appContainers(stackId), v2);
    assert.deepEqual(await getJson(`${url}/version`), { version: "1.1.0" });

    // 5. A replica removed by hand: refresh records it, the next up brings it back.
    await stack.setConfig("rewind:app.version", { value: "1.1.0" }, true);
    await engine().getContainer(v2[0].id).remove({ force: true });
    const refreshed = await timed("refresh", () => stack.refresh(quiet));
    assert.equal(refreshed.summary.resourceChanges?.update, 1);
    assert.equal((await deploymentState(stack)).replicas, 1);
    const restored = await timed("up (restore the replica)", () => stack.up(quiet));
    assert.equal(restored.summary.result, "succeeded");
    const v3 = await appContainers(stackId);
    assert.deepEqual(
      v3.map((c) => [c.state, c.version]),
      [
        ["running", "1.1.0"],
        ["running", "1.1.0"],
      ],
    );
    assert.ok(
      v3.some((c) => c.id === v2[1].id),
      "the surviving replica was kept",
    );
    assert.equal((await served(stackId)).length, 2);
    assert.equal((await deploymentState(stack)).replicas, 2);

    // 6. The worker loses its port (a worker without HTTP, issue 11): its replica stays, its
    // HAProxy goes, and the next preview changes nothing.
    const workerBefore = await appContainers(stackId, "worker");
    assert.equal((await proxies(stackId, "worker")).length, 1, "the worker has its HAProxy");
    await stack.removeConfig("rewind:app.services[0].port", true);
    await stack.setConfig("rewind:app.services[0].readiness.upSeconds", { value: "1" }, true);
    const portless = await timed("up (the worker without a port)", () => stack.up(quiet));
    assert.deepEqual(portless.outputs.serviceUrls.value, [""]);
    assert.deepEqual(await appContainers(stackId, "worker"), workerBefore, "its replica stays");
    assert.deepEqual(await proxies(stackId, "worker"), [], "its HAProxy is gone");
    assert.equal((await served(stackId)).length, 2, "the API's HAProxy still serves");
    assert.deepEqual(await getJson(`${url}/version`), { version: "1.1.0" });
    const settled = await timed("preview (no change)", () => stack.preview(quiet));
    assert.deepEqual(Object.keys(settled.changeSummary), ["same"], "nothing left to change");
  });

  // withStack destroyed the stack: no container of it is left on the engine.
  assert.deepEqual(await listContainers(engine(), { [LABELS.stack]: stackId }), []);
});
