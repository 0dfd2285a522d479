// Runs a service's replicas and its router on the Docker Engine, and replaces them health-gated:
// start the new replicas, wait until each is ready, switch the router, confirm the router uses
// the new list, and only then stop the old ones (swapPlan.ts decides; this file does).
//
// Runs in the dynamic-provider host, serialized by Pulumi's closure serializer: plain functions
// calling the adapters, plain Errors whose message is for the user (see imageRepository.ts).
import * as os from "node:os";
import { CheckFailure, ResourceHandler, UNKNOWN } from "./resourceHandler";
import { portSchema, replicasSchema, serviceNameSchema } from "../domain/config";
import type { z } from "zod";
import * as path from "node:path";
import * as fs from "node:fs";
import { randomBytes } from "node:crypto";
import * as docker from "../adapters/docker";
import { freePort, portFree } from "../adapters/ports";
import { LABELS, containerName, replicaSpec, serviceSelector } from "../domain/dockerLabels";
import { RunningReplica, planRouter, planSwap } from "../domain/swapPlan";
import { STATUS_PATH, readUpstreamList, writeUpstreamList } from "../images/router/router";
import { splitDigestRef } from "../domain/imageRepository";

/** Health endpoints, as in `rewind:app.health`. */
export interface DockerHealth {
  live: string;
  ready: string;
  startup?: string;
  timeoutSeconds: number;
  /** A worker without HTTP: ready once its process has stayed up this many seconds. */
  upSeconds?: number;
  /** A worker without HTTP: ready once this command, run inside it, exits 0. */
  command?: string[];
}

/** A DockerDeployment's inputs as the provider receives them (secrets unwrapped). */
export interface DockerDeploymentInputs {
  /** Names the containers and scopes every query, with `stackId`. */
  service: string;
  /** `<project>/<stack>`. */
  stackId: string;
  /** `repo@sha256:…`: what the replicas run. */
  ref: string;
  /** The pinned version `ref` was resolved from (labels, messages). */
  version: string;
  replicas: number;
  /** The router's public port. */
  port: number;
  env: Record<string, string>;
  /** The container command; the image's own when empty. */
  command: string[];
  health: DockerHealth;
  /** `repo@sha256:…` of Rewind's router image. */
  routerRef: string;
  /** `host:container[:ro]` binds of every replica; none when absent. */
  mounts?: string[];
}

/** A replica as it runs. */
export interface ReplicaState {
  id: string;
  name: string;
  /** Its loopback port. */
  port: number;
  version: string;
  /** `running`, `exited`, …, as the engine reports it. */
  state: string;
}

export interface DockerDeploymentOutputs extends DockerDeploymentInputs {
  /** `http://127.0.0.1:<port>`: the router. */
  url: string;
  /** The router container, or "" when none runs (read after someone removed it). */
  routerId: string;
  /** Host directory holding the router's upstream list. */
  routerDir: string;
  /** The upstream list generation the router reported last. */
  generation: number;
  /** Every app container of the service, as found. */
  containers: ReplicaState[];
}

const ROUTER_CONFIRM_MS = 30_000;
const STOP_GRACE_SECONDS = 10;

const URL_PATH = /^\/\S*$/;

/** Where routers' state directories live on the host (the engine must be able to bind them). */
function routerDirFor(stackId: string, service: string): string {
  const base =
    process.env.REWIND_ROUTER_DIR ??
    path.join(process.env.REWIND_HOME ?? path.join(os.homedir(), ".rewind"), "routers");
  return path.join(base, `${stackId.replace(/[^A-Za-z0-9_.-]+/g, "_")}.${service}`);
}

/**
 * Every problem with the inputs, each naming the property, the value and what is allowed.
 * Values not known yet are checked when they are, at `up`.
 */
export function inputProblems(news: DockerDeploymentInputs): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const fail = (property: string, value: unknown, allowed: string): void => {
    if (value === UNKNOWN) {
      return;
    }
    failures.push({
      property,
      reason: `${property} is ${JSON.stringify(value)}; allowed: ${allowed}`,
    });
  };
  const bySchema = (property: keyof DockerDeploymentInputs, schema: z.ZodType): void => {
    const issue = schema.safeParse(news[property]).error?.issues[0];
    if (issue !== undefined) {
      fail(property, news[property], issue.message);
    }
  };
  bySchema("service", serviceNameSchema);
  if (typeof news.stackId !== "string" || !/^[^/\s]+\/[^/\s]+$/.test(news.stackId)) {
    fail("stackId", news.stackId, `"<project>/<stack>"`);
  }
  for (const key of ["ref", "routerRef"] as const) {
    if (typeof news[key] !== "string" || splitDigestRef(news[key]) === undefined) {
      fail(key, news[key], "a digest-pinned image reference, repo@sha256:<64 hex>");
    }
  }
  bySchema("replicas", replicasSchema);
  bySchema("port", portSchema);
  const env: unknown = news.env;
  if (env === UNKNOWN) {
    // checked once known
  } else if (
    typeof env !== "object" ||
    env === null ||
    !Object.entries(env).every(
      ([k, v]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && typeof v === "string",
    )
  ) {
    // The value is not printed: env holds secrets.
    failures.push({
      property: "env",
      reason: "env must map variable names (letters, digits, _) to strings",
    });
  } else if ("PORT" in env) {
    failures.push({
      property: "env",
      reason: "env sets PORT; allowed: any other name (Rewind gives each replica its own PORT)",
    });
  }
  if (
    !Array.isArray(news.command) ||
    !news.command.every((a) => typeof a === "string" && a !== "")
  ) {
    fail(
      "command",
      news.command,
      `an argument array of non-empty strings, e.g. ["node", "worker.js"]`,
    );
  }
  if ((news.health as unknown) === UNKNOWN) {
    return failures;
  }
  const health = news.health ?? {};
  for (const key of ["live", "ready", "startup"] as const) {
    const value = health[key];
    if (
      (key !== "startup" || value !== undefined) &&
      (typeof value !== "string" || !URL_PATH.test(value))
    ) {
      fail(`health.${key}`, value, `a URL path starting with "/"`);
    }
  }
  if (
    health.upSeconds !== undefined &&
    (!Number.isInteger(health.upSeconds) || health.upSeconds < 1)
  ) {
    fail("health.upSeconds", health.upSeconds, "an integer number of seconds, at least 1");
  }
  if (
    health.command !== undefined &&
    (!Array.isArray(health.command) ||
      health.command.length === 0 ||
      !health.command.every((a) => typeof a === "string" && a !== ""))
  ) {
    fail("health.command", health.command, `an argument array, e.g. ["celery", "inspect", "ping"]`);
  }
  if (
    news.mounts !== undefined &&
    (news.mounts as unknown) !== UNKNOWN &&
    (!Array.isArray(news.mounts) ||
      !news.mounts.every((m) => typeof m === "string" && /^\/[^:]*:\/[^:]*(:ro)?$/.test(m)))
  ) {
    fail("mounts", news.mounts, `"<host path>:<container path>[:ro]" binds`);
  }
  if (!Number.isInteger(health.timeoutSeconds) || health.timeoutSeconds < 1) {
    fail(
      "health.timeoutSeconds",
      health.timeoutSeconds,
      "an integer number of seconds, at least 1",
    );
  }
  return failures;
}

type Engine = ReturnType<typeof docker.engine>;

/** Replicas and routers of this service as the engine reports them. */
async function survey(engine: Engine, inputs: DockerDeploymentInputs) {
  const all = await docker.listContainers(engine, serviceSelector(inputs.stackId, inputs.service));
  const apps = all.filter((c) => c.labels[LABELS.role] === "app");
  const routers = all.filter((c) => c.labels[LABELS.role] === "router");
  const toState = (c: docker.ContainerSummary): ReplicaState => ({
    id: c.id,
    name: c.name,
    port: Number(c.labels[LABELS.port]),
    version: c.labels[LABELS.version] ?? "",
    state: c.state,
  });
  return { apps, routers, toState };
}

const upstreamOf = (port: number): string => `127.0.0.1:${port}`;
const baseUrl = (port: number): string => `http://127.0.0.1:${port}`;

/** Waits until the router on `port` reports `generation` (or a later one). */
async function confirmRouter(
  engine: Engine,
  routerId: string,
  port: number,
  generation: number,
): Promise<void> {
  const deadline = Date.now() + ROUTER_CONFIRM_MS;
  let last = "";
  for (;;) {
    const answer = await docker.probe(`${baseUrl(port)}${STATUS_PATH}`);
    if (answer.ok) {
      try {
        const reported = JSON.parse(answer.body) as { generation?: unknown };
        if (typeof reported.generation === "number" && reported.generation >= generation) {
          return;
        }
        last = `it reports generation ${String(reported.generation)}`;
      } catch {
        last = `it answered ${answer.body}`;
      }
    } else {
      last = answer.status === undefined ? answer.body : `HTTP ${answer.status}`;
      const status = await docker.containerStatus(engine, routerId);
      if (!status.running) {
        const logs = await docker.logTail(engine, routerId);
        throw new Error(
          `the router on port ${port} is not running (${status.description})` +
            (logs ? `; last output: ${logs}` : ""),
        );
      }
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `the router on port ${port} did not switch to upstream list ${generation} within ` +
          `${ROUTER_CONFIRM_MS / 1000}s (${last})`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts `count` replicas of `inputs.ref`, each on its own free loopback port. */
async function startReplicas(
  engine: Engine,
  inputs: DockerDeploymentInputs,
  spec: string,
  count: number,
  taken: Set<number>,
  started: { id: string; port: number }[],
): Promise<void> {
  await docker.ensureImage(engine, inputs.ref);
  for (let i = 0; i < count; i++) {
    const port = await freePort(taken);
    taken.add(port);
    const suffix = randomBytes(3).toString("hex");
    const id = await docker.runContainer(engine, {
      name: containerName(inputs.stackId, inputs.service, inputs.version, suffix),
      image: inputs.ref,
      labels: {
        ...serviceSelector(inputs.stackId, inputs.service),
        [LABELS.role]: "app",
        [LABELS.version]: inputs.version,
        [LABELS.spec]: spec,
        [LABELS.port]: String(port),
      },
      env: { ...inputs.env, PORT: String(port) },
      command: inputs.command,
      ...(inputs.mounts === undefined || inputs.mounts.length === 0
        ? {}
        : { binds: inputs.mounts }),
    });
    started.push({ id, port });
  }
}

/** Waits until every new replica is ready; throws the readiness error otherwise. */
async function awaitReady(
  engine: Engine,
  inputs: DockerDeploymentInputs,
  started: readonly { id: string; port: number }[],
  serving: readonly string[],
): Promise<void> {
  const health = inputs.health;
  const paths = [health.startup, health.ready].filter((p): p is string => p !== undefined);
  const timeoutMs = health.timeoutSeconds * 1000;
  const problems = await Promise.all(
    started.map((s) =>
      health.upSeconds !== undefined
        ? docker.waitStaysUp(engine, s.id, health.upSeconds)
        : health.command !== undefined
          ? docker.waitCommandReady(engine, s.id, health.command, timeoutMs)
          : docker.waitHttpReady(engine, s.id, baseUrl(s.port), paths, timeoutMs),
    ),
  );
  const failed = problems.filter((p): p is string => p !== undefined);
  if (failed.length > 0) {
    const still =
      serving.length > 0 ? `${serving.join(", ")} keeps serving` : "nothing else was serving";
    const never =
      health.upSeconds !== undefined
        ? `did not stay up for ${health.upSeconds}s (health.upSeconds)`
        : health.command !== undefined
          ? `never ran ${JSON.stringify(health.command)} to exit 0`
          : `never answered 2xx on GET ${paths.join(" then ")}`;
    throw new Error(
      `${inputs.service} ${inputs.version} did not become ready within ` +
        `${health.timeoutSeconds}s (health.timeoutSeconds): ${failed.length} of ` +
        `${started.length} new replica(s) ${never}; ` +
        `${failed[0]}. The new replicas were removed; ${still}.`,
    );
  }
}

/** Whether a running replica of the current spec is ready now, by the service's own kind. */
async function readyNow(
  engine: Engine,
  inputs: DockerDeploymentInputs,
  id: string,
  port: number,
): Promise<boolean> {
  const health = inputs.health;
  if (health.upSeconds !== undefined) {
    return (await docker.containerStatus(engine, id)).running;
  }
  if (health.command !== undefined) {
    return (
      (await docker.execIn(engine, id, health.command).catch(() => ({ exitCode: -1 }))).exitCode ===
      0
    );
  }
  return (await docker.probe(new URL(health.ready, baseUrl(port)).toString())).ok;
}

/** Starts a router on the public port, after removing routers that may hold it. */
async function startRouter(
  engine: Engine,
  inputs: DockerDeploymentInputs,
  routerDir: string,
  remove: readonly string[],
): Promise<string> {
  // The only moment a release can drop requests, and only when the router itself changes (its
  // image or the public port): the old router must free the port first.
  await Promise.all(remove.map((id) => docker.stopAndRemove(engine, id, 2)));
  if (!(await portFree(inputs.port))) {
    throw new Error(
      `port ${inputs.port} is already in use on this host by another process; allowed: a ` +
        `free port for the ${inputs.service} router (change the port, or stop that process)`,
    );
  }
  await docker.ensureImage(engine, inputs.routerRef);
  const suffix = randomBytes(3).toString("hex");
  return docker.runContainer(engine, {
    name: containerName(inputs.stackId, inputs.service, "router", suffix),
    image: inputs.routerRef,
    labels: {
      ...serviceSelector(inputs.stackId, inputs.service),
      [LABELS.role]: "router",
      [LABELS.spec]: inputs.routerRef,
      [LABELS.port]: String(inputs.port),
    },
    env: { ROUTER_PORT: String(inputs.port), ROUTER_STATE_DIR: "/state" },
    command: [],
    binds: [`${routerDir}:/state:ro`],
  });
}

/**
 * Makes the engine match `inputs` in the order swapPlan.ts gives: start, await ready, switch,
 * stop. If anything fails before the old replicas are stopped, the new ones are removed, the
 * router goes back to the old list, and the old replicas keep serving; the error says why.
 */
async function reconcile(
  inputs: DockerDeploymentInputs,
  previous: DockerDeploymentOutputs | undefined,
): Promise<DockerDeploymentOutputs> {
  const engine = docker.engine();
  const { apps, routers } = await survey(engine, inputs);
  const spec = replicaSpec(inputs);
  const routerDir = previous?.routerDir || routerDirFor(inputs.stackId, inputs.service);
  const portOf = new Map(apps.map((c) => [c.id, Number(c.labels[LABELS.port])]));

  // A current replica counts only if it answers now: one that went bad is replaced.
  const replicas: RunningReplica[] = await Promise.all(
    apps.map(async (c) => {
      const running = c.state === "running";
      const current = running && c.labels[LABELS.spec] === spec;
      const ready = current && (await readyNow(engine, inputs, c.id, portOf.get(c.id) ?? 0));
      return { id: c.id, spec: c.labels[LABELS.spec] ?? "", running, ready, created: c.created };
    }),
  );
  const routerAction = planRouter(
    routers.map((c) => ({
      id: c.id,
      running: c.state === "running",
      spec: c.labels[LABELS.spec] ?? "",
      port: Number(c.labels[LABELS.port]),
    })),
    { spec: inputs.routerRef, port: inputs.port },
  );
  const onDisk = readUpstreamList(routerDir);
  const routed =
    routerAction.kind === "keep" && onDisk !== undefined
      ? apps
          .filter((c) => onDisk.upstreams.includes(upstreamOf(portOf.get(c.id) ?? 0)))
          .map((c) => c.id)
      : undefined;
  const plan = planSwap(replicas, { spec, replicas: inputs.replicas }, routed);
  const serving = [
    ...new Set(
      apps.filter((c) => c.state === "running").map((c) => c.labels[LABELS.version] ?? "?"),
    ),
  ];

  const started: { id: string; port: number }[] = [];
  let routerId = routerAction.kind === "keep" ? routerAction.router.id : "";
  let generation = Math.max(onDisk?.generation ?? 0, previous?.generation ?? 0);
  let switched = false;
  try {
    for (const step of plan.steps) {
      switch (step.kind) {
        case "start":
          await startReplicas(engine, inputs, spec, step.count, new Set(portOf.values()), started);
          break;
        case "await-ready":
          await awaitReady(engine, inputs, started, serving);
          break;
        case "switch": {
          const ports = [
            ...step.keep.map((id) => portOf.get(id) ?? 0),
            ...started.map((s) => s.port),
          ];
          generation += 1;
          writeUpstreamList(routerDir, { generation, upstreams: ports.map(upstreamOf) });
          if (routerAction.kind === "create") {
            routerId = await startRouter(engine, inputs, routerDir, routerAction.remove);
          }
          await confirmRouter(engine, routerId, inputs.port, generation);
          switched = true;
          break;
        }
        case "stop":
          // Gracefully: requests in flight on the old replicas finish.
          await Promise.all(
            step.ids.map((id) => docker.stopAndRemove(engine, id, STOP_GRACE_SECONDS)),
          );
          break;
        default: {
          const unexpected: never = step;
          throw new Error(`internal error: unknown swap step ${JSON.stringify(unexpected)}`);
        }
      }
    }
  } catch (err) {
    if (!switched) {
      // Back to the list the old replicas serve from, and without the new replicas.
      if (onDisk !== undefined && generation > onDisk.generation) {
        writeUpstreamList(routerDir, { generation: generation + 1, upstreams: onDisk.upstreams });
      }
      await Promise.all(started.map((s) => docker.stopAndRemove(engine, s.id, 1)));
    }
    throw err;
  }
  if (routerAction.kind === "keep") {
    // Leftover routers (a crash between create and remove); the kept one owns the port.
    await Promise.all(routerAction.remove.map((id) => docker.stopAndRemove(engine, id, 2)));
  }

  const after = await survey(engine, inputs);
  return {
    ...inputs,
    url: baseUrl(inputs.port),
    routerId,
    routerDir,
    generation,
    containers: after.apps.map(after.toState),
  };
}

/** What runs now, for `pulumi refresh`: a replica removed by hand shows as fewer replicas. */
async function observe(
  id: string,
  props: DockerDeploymentOutputs,
): Promise<{ id?: string; props?: DockerDeploymentOutputs }> {
  const engine = docker.engine();
  const { apps, routers, toState } = await survey(engine, props);
  if (apps.length === 0 && routers.length === 0) {
    return {}; // nothing left: refresh drops it from the state, the next `up` creates it again
  }
  const spec = replicaSpec(props);
  const current = apps.filter((c) => c.state === "running" && c.labels[LABELS.spec] === spec);
  const router = routers.find(
    (c) =>
      c.state === "running" &&
      c.labels[LABELS.spec] === props.routerRef &&
      Number(c.labels[LABELS.port]) === props.port,
  );
  const versions = [
    ...new Set(
      apps.filter((c) => c.state === "running").map((c) => c.labels[LABELS.version] ?? ""),
    ),
  ];
  return {
    id,
    props: {
      ...props,
      replicas: current.length,
      version: current.length > 0 ? props.version : versions.join(","),
      routerId: router?.id ?? "",
      generation: readUpstreamList(props.routerDir)?.generation ?? props.generation,
      containers: apps.map(toState),
    },
  };
}

/** Removes the router, then the replicas, then the router's state directory. */
async function removeAll(props: DockerDeploymentInputs, routerDir: string): Promise<void> {
  const engine = docker.engine();
  const { apps, routers } = await survey(engine, props);
  await Promise.all(routers.map((c) => docker.stopAndRemove(engine, c.id, 2)));
  await Promise.all(apps.map((c) => docker.stopAndRemove(engine, c.id, STOP_GRACE_SECONDS)));
  // Older states may lack it; never rm an empty path.
  if (typeof routerDir === "string" && routerDir !== "") {
    fs.rmSync(routerDir, { recursive: true, force: true });
  }
}

const REPLACING = ["service", "stackId"] as const;
const UPDATING = [
  "ref",
  "version",
  "replicas",
  "port",
  "env",
  "command",
  "health",
  "routerRef",
  "mounts",
] as const;

export const dockerDeploymentHandler: ResourceHandler<
  DockerDeploymentInputs,
  DockerDeploymentOutputs
> = {
  async check(_olds, news) {
    const failures = inputProblems(news);
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const same = (k: (typeof REPLACING)[number] | (typeof UPDATING)[number]): boolean =>
      JSON.stringify(olds[k]) === JSON.stringify(news[k]);
    const replaces = REPLACING.filter((k) => !same(k));
    // A router found missing by refresh is a change even when no input changed.
    const changes = replaces.length > 0 || UPDATING.some((k) => !same(k)) || olds.routerId === "";
    // Another service or stack means other labels; the old router must free the port first.
    return { changes, replaces: [...replaces], deleteBeforeReplace: replaces.length > 0 };
  },

  async create(inputs) {
    const id = `${inputs.stackId}/${inputs.service}`;
    const engine = docker.engine();
    const existing = await survey(engine, inputs);
    try {
      // Containers already carrying this stack's and service's labels (a state file lost or
      // rolled back) are adopted, not duplicated.
      return { id, outs: await reconcile(inputs, undefined) };
    } catch (err) {
      // A failed create is not recorded, so nothing would delete what it left: a router that
      // never confirmed, its state directory. What ran before the create is left alone.
      if (existing.apps.length === 0 && existing.routers.length === 0) {
        await removeAll(inputs, routerDirFor(inputs.stackId, inputs.service)).catch(
          () => undefined,
        );
      }
      throw err;
    }
  },

  async update(_id, olds, news) {
    return { outs: await reconcile(news, olds) };
  },

  async read(id, props) {
    if (props === undefined) {
      return { id };
    }
    return observe(id, props);
  },

  async delete(_id, props) {
    await removeAll(props, props.routerDir);
  },
};
