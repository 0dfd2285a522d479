// Runs a service's replicas and its front door, HAProxy, on the Docker Engine, and replaces them
// health-gated: start the new replicas, wait until each is ready, switch HAProxy (through its
// runtime API) and confirm it serves the new list, drain the old replicas (nothing in flight, or
// drainSeconds), and only then stop them (swapPlan.ts decides the order; this file does it).
// A stack still on Rewind's old router moves to HAProxy at its next change. A service without
// a port (a worker without HTTP) has no front door: its old replicas get drainSeconds between
// SIGTERM and SIGKILL instead, the time a Celery warm shutdown needs to finish its job.
//
// Runs in the provider plugin: plain functions calling the adapters, plain Errors whose message
// is for the user (see imageRepository.ts).
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { z } from "zod";
import { CheckFailure, ResourceHandler, UNKNOWN } from "./resourceHandler";
import {
  PORTLESS_HEALTH_REFUSAL,
  drainSecondsSchema,
  portSchema,
  replicasSchema,
  serviceNameSchema,
} from "../domain/config";
import * as docker from "../adapters/docker";
import {
  currentUpstreams,
  drainUpstreams,
  proxyContainer,
  setUpstreams,
  showSlots,
  waitProxyReady,
  writeProxyConfig,
} from "../adapters/haproxy";
import { freePort, portFree } from "../adapters/ports";
import { DockerAuthConfig, dockerAuthConfig } from "../adapters/registryAuth";
import { LABELS, containerName, replicaSpec, serviceSelector } from "../domain/dockerLabels";
import { ProxyConfigArgs, SOCKET_FILE, proxyConfigKey } from "../domain/haproxyConfig";
import { parseRepository, splitDigestRef } from "../domain/imageRepository";
import { slotCount } from "../domain/proxySlots";
import { Routing, RunningReplica, planFrontDoor, planSwap } from "../domain/swapPlan";
import { credentialsOf } from "./imageRef";

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
  /** The proxy's public port; absent for a worker without HTTP, which gets no proxy. */
  port?: number;
  env: Record<string, string>;
  /** The container command; the image's own when empty. */
  command: string[];
  health: DockerHealth;
  /** `repo@sha256:…` of the HAProxy image (rewind-haproxy); exactly when there is a port. */
  proxyRef?: string;
  /**
   * After the switch, how long old replicas may finish what is in flight; without a port, the
   * time between SIGTERM and SIGKILL of the old replicas.
   */
  drainSeconds: number;
  /** The app registry's user; "" is anonymous. */
  registryUsername?: string;
  /** The app registry's password (a secret); "" is anonymous. */
  registryPassword?: string;
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

/** The inputs of a service with a front door: a public port and the proxy's image. */
export type FrontDoorInputs = DockerDeploymentInputs & { port: number; proxyRef: string };

export interface DockerDeploymentOutputs extends DockerDeploymentInputs {
  /** `http://127.0.0.1:<port>`: the proxy; "" for a service without a port. */
  url: string;
  /** The proxy container, or "" when none runs (read after someone removed it, or no port). */
  proxyId: string;
  /**
   * Host directory holding the service's proxy state (one directory per proxy container); ""
   * for a service without a port.
   */
  proxyDir: string;
  /** Every app container of the service, as found. */
  containers: ReplicaState[];
}

/** What a state written before HAProxy holds besides the inputs (the router's). */
interface LegacyRouterState {
  routerDir?: string;
}

const STOP_GRACE_SECONDS = 10;
const PROXY_READY_MS = 15_000;

const URL_PATH = /^\/\S*$/;

/**
 * Where a service's proxy state lives on the host (the engine binds it, so it must be a host
 * path): REWIND_PROXY_DIR, else `proxy/` in REWIND_HOME (the project's .rewind), one short
 * directory per service; admin socket paths must stay under 108 bytes.
 */
export function proxyDirFor(stackId: string, service: string, cwd = process.cwd()): string {
  const base =
    process.env.REWIND_PROXY_DIR ||
    path.join(process.env.REWIND_HOME || path.join(cwd, ".rewind"), "proxy");
  const hash = createHash("sha256").update(`${stackId}/${service}`).digest("hex").slice(0, 8);
  return path.join(base, `${service.slice(0, 20)}-${hash}`);
}

/**
 * The inputs narrowed to a service with a front door; undefined for one without a port.
 * @throws Error when there is a port but no proxy image (the check refuses that first).
 */
export function frontDoorOf(inputs: DockerDeploymentInputs): FrontDoorInputs | undefined {
  if (inputs.port === undefined) {
    return undefined;
  }
  if (inputs.proxyRef === undefined) {
    throw new Error(`internal error: ${inputs.service} has port ${inputs.port} but no proxyRef`);
  }
  return { ...inputs, port: inputs.port, proxyRef: inputs.proxyRef };
}

/** HAProxy's config for the service: its port, slots for old and new side by side, checks. */
export function proxyArgs(inputs: FrontDoorInputs): ProxyConfigArgs {
  return {
    service: inputs.service,
    port: inputs.port,
    slots: slotCount(inputs.replicas),
    // HAProxy probes the readiness path over HTTP; a health that is not an HTTP path, or a
    // worker ready by upSeconds or a command, gets no HAProxy check (the provider's own probes
    // gate the switch either way).
    ...(URL_PATH.test(inputs.health.ready) &&
    inputs.health.upSeconds === undefined &&
    inputs.health.command === undefined
      ? { readyPath: inputs.health.ready }
      : {}),
  };
}

/** The `rewind.spec` of a proxy: its image and its config (a change needs a new proxy). */
export function proxySpec(inputs: FrontDoorInputs): string {
  return createHash("sha256")
    .update(`${inputs.proxyRef}\n${proxyConfigKey(proxyArgs(inputs))}`)
    .digest("hex")
    .slice(0, 16);
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
  if (typeof news.ref !== "string" || splitDigestRef(news.ref) === undefined) {
    fail("ref", news.ref, "a digest-pinned image reference, repo@sha256:<64 hex>");
  }
  const portless = news.port === undefined;
  if (portless && news.proxyRef !== undefined) {
    fail("proxyRef", news.proxyRef, "no value while port is unset (no port, no front door)");
  } else if (
    !portless &&
    (typeof news.proxyRef !== "string" || splitDigestRef(news.proxyRef) === undefined)
  ) {
    fail(
      "proxyRef",
      news.proxyRef,
      "a digest-pinned image reference, repo@sha256:<64 hex> (the front door of a service " +
        "with a port)",
    );
  }
  bySchema("replicas", replicasSchema);
  if (!portless) bySchema("port", portSchema);
  bySchema("drainSeconds", drainSecondsSchema);
  for (const key of ["registryUsername", "registryPassword"] as const) {
    const value: unknown = news[key];
    if (value !== undefined && value !== UNKNOWN && typeof value !== "string") {
      // Never the value: it may be the password.
      failures.push({ property: key, reason: `${key} must be a string` });
    }
  }
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
  if (portless && health.upSeconds === undefined && health.command === undefined) {
    // Without a port nothing answers HTTP: the ready path would never pass.
    failures.push({ property: "health", reason: PORTLESS_HEALTH_REFUSAL });
  }
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

/** Replicas, proxies and (from before HAProxy) routers of this service as the engine reports them. */
async function survey(engine: Engine, inputs: DockerDeploymentInputs) {
  const all = await docker.listContainers(engine, serviceSelector(inputs.stackId, inputs.service));
  const apps = all.filter((c) => c.labels[LABELS.role] === "app");
  const proxies = all.filter((c) => c.labels[LABELS.role] === "proxy");
  const routers = all.filter((c) => c.labels[LABELS.role] === "router");
  const toState = (c: docker.ContainerSummary): ReplicaState => ({
    id: c.id,
    name: c.name,
    port: Number(c.labels[LABELS.port]),
    version: c.labels[LABELS.version] ?? "",
    state: c.state,
  });
  return { apps, proxies, routers, toState };
}

const upstreamOf = (port: number): string => `127.0.0.1:${port}`;
const baseUrl = (port: number): string => `http://127.0.0.1:${port}`;
const socketOf = (c: docker.ContainerSummary): string =>
  path.join(c.labels[LABELS.state] ?? "", SOCKET_FILE);

/** The engine's auth for pulling `ref`: the credentials, only for the app image's registry. */
function pullAuth(inputs: DockerDeploymentInputs, ref: string): DockerAuthConfig | undefined {
  const credentials = credentialsOf(inputs);
  const registryOf = (r: string): string => parseRepository(splitDigestRef(r)?.image ?? r).registry;
  if (credentials === undefined || registryOf(ref) !== registryOf(inputs.ref)) {
    return undefined;
  }
  return dockerAuthConfig(registryOf(ref), credentials);
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
  await docker.ensureImage(engine, inputs.ref, pullAuth(inputs, inputs.ref));
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

/**
 * Starts a proxy on the public port already serving `upstreams` (they are in its config, so it
 * answers from its first second), after removing the routers that hold the port; proxies on it
 * keep serving beside it (SO_REUSEPORT) until they are retired.
 * @returns the container and its admin socket, once it answers and serves exactly `upstreams`.
 */
async function startProxy(
  engine: Engine,
  inputs: FrontDoorInputs,
  proxyDir: string,
  upstreams: readonly string[],
  removeFirst: readonly string[],
  portShared: boolean,
): Promise<{ id: string; socketPath: string }> {
  await docker.ensureImage(engine, inputs.proxyRef, pullAuth(inputs, inputs.proxyRef));
  const suffix = randomBytes(3).toString("hex");
  const files = writeProxyConfig(path.join(proxyDir, suffix), {
    ...proxyArgs(inputs),
    initial: upstreams,
  });
  if (removeFirst.length === 0 && !portShared && !(await portFree(inputs.port))) {
    throw new Error(
      `port ${inputs.port} is already in use on this host by another process; allowed: a ` +
        `free port for the ${inputs.service} proxy (change the port, or stop that process)`,
    );
  }
  const container = proxyContainer(files.stateDir);
  const id = await docker.createContainer(engine, {
    name: containerName(inputs.stackId, inputs.service, "proxy", suffix),
    image: inputs.proxyRef,
    labels: {
      ...serviceSelector(inputs.stackId, inputs.service),
      [LABELS.role]: "proxy",
      [LABELS.spec]: proxySpec(inputs),
      [LABELS.port]: String(inputs.port),
      [LABELS.state]: files.stateDir,
    },
    env: {},
    command: container.command,
    binds: container.binds,
  });
  // The only moment a release can refuse connections: a router (a stack from before HAProxy)
  // does not share its port, so it must free it before HAProxy binds. Everything else (the
  // replicas, the config, the container) is ready by now, so the gap is HAProxy's start.
  await Promise.all(removeFirst.map((r) => docker.stopAndRemove(engine, r, 2)));
  try {
    await docker.startCreated(engine, id);
    await waitProxyReady(files.socketPath, {
      timeoutMs: PROXY_READY_MS,
      gone: async () => {
        const status = await docker.containerStatus(engine, id);
        if (status.running) return undefined;
        const logs = await docker.logTail(engine, id);
        return `${status.description}${logs ? `; last output: ${logs}` : ""}`;
      },
    });
    const serving = await currentUpstreams(files.socketPath);
    if ([...serving].sort().join(",") !== [...upstreams].sort().join(",")) {
      throw new Error(
        `the new proxy serves ${serving.join(", ") || "nothing"}, not ${upstreams.join(", ")}`,
      );
    }
  } catch (err) {
    await docker.stopAndRemove(engine, id, 1);
    fs.rmSync(files.stateDir, { recursive: true, force: true });
    throw err;
  }
  return { id, socketPath: files.socketPath };
}

/**
 * Soft-stops proxies another one replaced: they stop listening and finish what is in flight
 * (at most `drainSeconds`), then are removed with their state directories.
 */
async function retireProxies(
  engine: Engine,
  proxies: readonly docker.ContainerSummary[],
  drainSeconds: number,
): Promise<void> {
  await Promise.all(
    proxies.map(async (c) => {
      // SIGUSR1 is HAProxy's soft stop; SIGTERM would cut every connection.
      await docker.softStop(engine, c.id, "SIGUSR1", drainSeconds);
      const stateDir = c.labels[LABELS.state];
      if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
    }),
  );
}

/**
 * Makes the engine match `inputs` in the order swapPlan.ts gives: start, await ready, switch
 * (and confirm), drain, stop. If anything fails before the switch, the new replicas are removed
 * and the old ones keep serving; the error says why.
 */
async function reconcile(
  inputs: DockerDeploymentInputs,
  previous: (DockerDeploymentOutputs & LegacyRouterState) | undefined,
): Promise<DockerDeploymentOutputs> {
  const engine = docker.engine();
  const { apps, proxies, routers } = await survey(engine, inputs);
  const spec = replicaSpec(inputs);
  const front = frontDoorOf(inputs);
  const proxyDir =
    front === undefined ? "" : previous?.proxyDir || proxyDirFor(inputs.stackId, inputs.service);
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
  const frontDoor = (c: docker.ContainerSummary) => ({
    id: c.id,
    running: c.state === "running",
    spec: c.labels[LABELS.spec] ?? "",
    port: Number(c.labels[LABELS.port]),
  });
  const action = planFrontDoor(
    proxies.map(frontDoor),
    routers.map(frontDoor),
    front === undefined ? undefined : { spec: proxySpec(front), port: front.port },
  );
  const kept = action.kind === "keep" ? proxies.find((c) => c.id === action.proxy.id) : undefined;
  let socketPath = kept === undefined ? "" : socketOf(kept);
  let proxyId = kept?.id ?? "";
  const routed: Routing =
    action.kind === "none"
      ? "unrouted"
      : kept === undefined
        ? undefined
        : await currentUpstreams(socketPath).then((served) =>
            apps.filter((c) => served.includes(upstreamOf(portOf.get(c.id) ?? 0))).map((c) => c.id),
          );
  const plan = planSwap(replicas, { spec, replicas: inputs.replicas }, routed);
  const serving = [
    ...new Set(
      apps.filter((c) => c.state === "running").map((c) => c.labels[LABELS.version] ?? "?"),
    ),
  ];
  const retiring = proxies.filter((c) => action.retire.includes(c.id));
  // Routers are replaced by a new proxy (removeFirst); without a port they simply go.
  const leavingRouters =
    action.kind === "none" ? routers.filter((c) => action.retire.includes(c.id)) : [];
  const retireFrontDoors = async (): Promise<void> => {
    await retireProxies(engine, retiring, inputs.drainSeconds);
    await Promise.all(leavingRouters.map((c) => docker.stopAndRemove(engine, c.id, 2)));
  };

  const started: { id: string; port: number }[] = [];
  let wanted: string[] = [];
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
          wanted = [
            ...step.keep.map((id) => portOf.get(id) ?? 0),
            ...started.map((s) => s.port),
          ].map(upstreamOf);
          switch (action.kind) {
            case "create": {
              if (front === undefined) {
                throw new Error("internal error: a proxy planned for a service without a port");
              }
              const shared = retiring.some((c) => Number(c.labels[LABELS.port]) === front.port);
              const proxy = await startProxy(
                engine,
                front,
                proxyDir,
                wanted,
                action.removeFirst,
                shared,
              );
              proxyId = proxy.id;
              socketPath = proxy.socketPath;
              break;
            }
            case "keep":
              // Confirmed inside: it returns once HAProxy reports exactly `wanted`.
              await setUpstreams(socketPath, wanted);
              break;
            case "none":
              // No front door: the new replicas work beside the old until these stop.
              break;
            default: {
              const unexpected: never = action;
              throw new Error(`internal error: unknown front door ${JSON.stringify(unexpected)}`);
            }
          }
          switched = true;
          // Proxies replaced by this one (or by none) finish their requests; the old replicas
          // still run.
          await retireFrontDoors();
          break;
        }
        case "stop": {
          if (action.kind === "none") {
            // A worker gets drainSeconds between SIGTERM and SIGKILL to finish its job.
            await Promise.all(
              step.ids.map((id) => docker.stopAndRemove(engine, id, inputs.drainSeconds)),
            );
            break;
          }
          // Drain: every slot that still points elsewhere gets no new request; what is in
          // flight (an upload, a slow answer) finishes, up to drainSeconds. A WebSocket still
          // open then is closed by its replica on SIGTERM, with a close frame.
          const leaving = (await showSlots(socketPath))
            .filter((slot) => slot.admin !== "maint" && !wanted.includes(slot.upstream))
            .map((slot) => slot.upstream);
          await drainUpstreams(socketPath, leaving, inputs.drainSeconds);
          await Promise.all(
            step.ids.map((id) => docker.stopAndRemove(engine, id, STOP_GRACE_SECONDS)),
          );
          break;
        }
        default: {
          const unexpected: never = step;
          throw new Error(`internal error: unknown swap step ${JSON.stringify(unexpected)}`);
        }
      }
    }
  } catch (err) {
    if (!switched) {
      // setUpstreams put the proxy back on its list itself; the new replicas go.
      await Promise.all(started.map((s) => docker.stopAndRemove(engine, s.id, 1)));
    }
    throw err;
  }
  if (!plan.steps.some((s) => s.kind === "switch")) {
    // Nothing to switch, so nothing retired the leftovers (a crash between start and retire),
    // nor the proxy of a service that lost its port while its replicas stayed.
    await retireFrontDoors();
  }
  if (front === undefined && previous?.proxyDir) {
    // Its proxies' own directories went with them; the service's is empty now.
    fs.rmSync(previous.proxyDir, { recursive: true, force: true });
  }
  if (previous?.routerDir) {
    // The router's upstream list, from a state written before HAProxy.
    fs.rmSync(previous.routerDir, { recursive: true, force: true });
  }

  const after = await survey(engine, inputs);
  return {
    ...inputs,
    url: front === undefined ? "" : baseUrl(front.port),
    proxyId,
    proxyDir,
    containers: after.apps.map(after.toState),
  };
}

/** What runs now, for `pulumi refresh`: a replica removed by hand shows as fewer replicas. */
async function observe(
  id: string,
  props: DockerDeploymentOutputs,
): Promise<{ id?: string; props?: DockerDeploymentOutputs }> {
  const engine = docker.engine();
  const { apps, proxies, routers, toState } = await survey(engine, props);
  if (apps.length === 0 && proxies.length === 0 && routers.length === 0) {
    return {}; // nothing left: refresh drops it from the state, the next `up` creates it again
  }
  const spec = replicaSpec(props);
  const current = apps.filter((c) => c.state === "running" && c.labels[LABELS.spec] === spec);
  // A state from before HAProxy has no proxyRef; a service without a port wants no proxy.
  const wantedProxy =
    props.port === undefined || props.proxyRef === undefined
      ? undefined
      : proxySpec({ ...props, port: props.port, proxyRef: props.proxyRef });
  const proxy = proxies.find(
    (c) =>
      c.state === "running" &&
      c.labels[LABELS.spec] === wantedProxy &&
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
      proxyId: proxy?.id ?? "",
      containers: apps.map(toState),
    },
  };
}

/** Removes the proxies and routers, then the replicas, then the proxy state directories. */
async function removeAll(props: DockerDeploymentInputs, dirs: readonly unknown[]): Promise<void> {
  const engine = docker.engine();
  const { apps, proxies, routers } = await survey(engine, props);
  await Promise.all([...proxies, ...routers].map((c) => docker.stopAndRemove(engine, c.id, 2)));
  await Promise.all(apps.map((c) => docker.stopAndRemove(engine, c.id, STOP_GRACE_SECONDS)));
  for (const dir of dirs) {
    // Older states may lack one; never rm an empty path.
    if (typeof dir === "string" && dir !== "") {
      fs.rmSync(dir, { recursive: true, force: true });
    }
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
  "proxyRef",
  "drainSeconds",
  "mounts",
] as const;

export const dockerDeploymentHandler: ResourceHandler<
  DockerDeploymentInputs,
  DockerDeploymentOutputs & LegacyRouterState
> = {
  async check(_olds, news) {
    const failures = inputProblems(news);
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const same = (k: (typeof REPLACING)[number] | (typeof UPDATING)[number]): boolean =>
      JSON.stringify(olds[k]) === JSON.stringify(news[k]);
    const replaces = REPLACING.filter((k) => !same(k));
    // A proxy found missing by refresh is a change even when no input changed; so is a state
    // from before HAProxy (no proxyId), whose router moves to HAProxy. A service without a
    // port has no proxy to miss.
    const proxyMissing = news.port !== undefined && !olds.proxyId;
    const changes = replaces.length > 0 || UPDATING.some((k) => !same(k)) || proxyMissing;
    // Another service or stack means other labels; the old proxy must free the port first.
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
      // A failed create is not recorded, so nothing would delete what it left: a proxy that
      // never confirmed, its state directory. What ran before the create is left alone.
      const none = existing.apps.length + existing.proxies.length + existing.routers.length === 0;
      if (none) {
        await removeAll(inputs, [proxyDirFor(inputs.stackId, inputs.service)]).catch(
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
    await removeAll(props, [props.proxyDir, props.routerDir]);
  },
};
