// The single-node cluster of scripts/cluster, as the Kubernetes integration test and bench use
// it: kubectl (for what an operator would do by hand, never for what Rewind does), a namespace of
// their own, the kubeconfig inline, and the database made reachable from the pods.
//
// Why a forwarder: scripts/services runs PostgreSQL on 127.0.0.1, which a pod (its own network
// namespace on the CNI bridge) cannot reach. The forwarder listens on the host's primary address,
// which both the pods (through the bridge's gateway) and the program on the host reach, so one
// rewind:database.url serves both, as a production database's host name would.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** `export NAME='value'` lines of $REWIND_HOME/cluster.env, as scripts/cluster writes them. */
export function clusterEnv(home = process.env.REWIND_HOME ?? ".rewind"): Record<string, string> {
  const file = path.join(home, "cluster.env");
  if (!fs.existsSync(file)) {
    throw new Error(`${file} not found: start the cluster (scripts/cluster start)`);
  }
  const env: Record<string, string> = {};
  for (const m of fs
    .readFileSync(file, "utf8")
    .matchAll(/^export ([A-Z_]+)=(?:'([^']*)'|(\S*))$/gm)) {
    env[m[1]] = m[2] ?? m[3];
  }
  return env;
}

/** kubectl with the cluster's admin kubeconfig; returns stdout, throws with stderr. */
export function kubectl(
  env: Record<string, string>,
  args: readonly string[],
  input?: string,
): string {
  try {
    return execFileSync(env.REWIND_KUBECTL, ["--kubeconfig", env.KUBECONFIG, ...args], {
      encoding: "utf8",
      input,
      stdio: ["pipe", "pipe", "pipe"],
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(" ")} failed: ${e.stderr ?? e.message}`);
  }
}

/** The admin kubeconfig with its certificates inline: the value of rewind:kubernetes.kubeconfig. */
export function inlineKubeconfig(env: Record<string, string>): string {
  return kubectl(env, ["config", "view", "--raw", "--flatten"]);
}

/** A fresh namespace; the returned function deletes it (and waits until it is gone). */
export function createNamespace(env: Record<string, string>, prefix: string) {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  kubectl(env, ["create", "namespace", name]);
  return {
    name,
    remove: () => {
      kubectl(env, ["delete", "namespace", name, "--ignore-not-found", "--timeout=120s"]);
    },
  };
}

/** The host's first non-loopback IPv4 address (where pods reach the host). */
export function hostAddress(): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === "IPv4" && !a.internal && !a.address.startsWith("10.244.")) return a.address;
    }
  }
  throw new Error("this host has no non-loopback IPv4 address for the pods to reach");
}

/** A TCP forwarder from `host:<free port>` to `127.0.0.1:targetPort`, in its own process. */
export async function forwardToLoopback(
  host: string,
  targetPort: number,
): Promise<{ port: number; close: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [path.join(__dirname, "tcpForward.js"), host, String(targetPort)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n")) resolve(Number(line));
    });
    child.once("exit", (code) => reject(new Error(`the forwarder exited with ${code}`)));
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** `url` (a PostgreSQL URL on 127.0.0.1) with its host and port replaced. */
export function viaForwarder(url: string, host: string, port: number): string {
  const u = new URL(url);
  u.hostname = host;
  u.port = String(port);
  return u.toString();
}
