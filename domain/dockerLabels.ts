// How Rewind recognises its own containers on a shared Docker Engine: labels, not names. Every
// query is scoped by stack and service, so two stacks (or two services of one stack) never see,
// stop or remove each other's containers. Restore (adapters/docker.ts stopAppContainers) uses the
// same labels to stop and start a service's app containers.
import { createHash } from "node:crypto";

/** The label keys Rewind puts on every container it runs. */
export const LABELS = {
  /** `<project>/<stack>`. */
  stack: "rewind.stack",
  /** The service name (a DNS label). */
  service: "rewind.service",
  /** `app` (a replica), `proxy` (HAProxy on the service's public port) or `router` (the
   * proxy before it, still found on stacks not yet moved to HAProxy). */
  role: "rewind.role",
  /** The pinned version the replica runs (for people and `read`; `spec` decides). */
  version: "rewind.version",
  /** Hash of what a replica is started from: ref, command, env. */
  spec: "rewind.spec",
  /** The loopback port a replica or router listens on (host network). */
  port: "rewind.port",
  /** The proxy's own state directory (config, admin socket), under the service's proxy dir. */
  state: "rewind.state",
} as const;

export type Role = "app" | "proxy" | "router";

/** The labels that select one service of one stack (add `role` to narrow further). */
export function serviceSelector(stackId: string, service: string): Record<string, string> {
  return { [LABELS.stack]: stackId, [LABELS.service]: service };
}

/** What a replica is started from. Two replicas with equal specs are interchangeable. */
export interface ReplicaSpecInput {
  readonly ref: string;
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Binds; part of the spec only when there are some, so older replicas stay current. */
  readonly mounts?: readonly string[];
}

/**
 * A short hash of the spec, stored as a label so `read` and the swap plan can tell current
 * replicas from outdated ones without comparing env values. The hash adds no exposure: the
 * engine shows the env itself to anyone who can read the labels.
 */
export function replicaSpec(input: ReplicaSpecInput): string {
  const env = Object.keys(input.env)
    .sort()
    .map((k) => [k, input.env[k]]);
  const mounts = input.mounts ?? [];
  const canonical = JSON.stringify({
    ref: input.ref,
    command: input.command,
    env,
    ...(mounts.length === 0 ? {} : { mounts }),
  });
  return createHash("sha256").update(canonical).digest("hex").slice(0, 16);
}

/**
 * A container name people can read in `docker ps`: stack, service, role or version, and a
 * random suffix (a replacement starts before the container it replaces is removed).
 */
export function containerName(
  stackId: string,
  service: string,
  what: string,
  suffix: string,
): string {
  const clean = (s: string) => s.replace(/[^a-zA-Z0-9_.-]+/g, "_");
  return `${clean(stackId)}.${clean(service)}.${clean(what)}.${clean(suffix)}`;
}
