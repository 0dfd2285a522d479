// The Kubernetes API where @pulumi/kubernetes is not the one acting: reading what version a
// Deployment runs before the graph is built, and the restore's "scale to 0, restore, scale back"
// (DESIGN: adapters hold "Kubernetes where not through @pulumi/kubernetes"). Plain HTTPS with
// the kubeconfig's credentials; never kubectl.
import * as fs from "node:fs";
import * as https from "node:https";
import { load } from "js-yaml";
import { KubeConnection, Material, kubeConnection } from "../domain/kubeconfig";
import { KUBERNETES_ANNOTATIONS, selectorLabels } from "../domain/kubernetesManifest";
import { UserError } from "../domain/errors";

const REQUEST_TIMEOUT_MS = 15_000;

/** An API server, reached with one kubeconfig's current context. */
export interface KubernetesApi {
  readonly server: string;
  /** One request; JSON in and out. 404 gives `undefined`, any other non-2xx throws. */
  request(
    method: "GET" | "PATCH",
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<unknown>;
}

function read(m: Material | undefined): Buffer | undefined {
  if (m === undefined) return undefined;
  return "data" in m ? Buffer.from(m.data, "base64") : fs.readFileSync(m.path);
}

/** An API client for `kubeconfig` (its text, YAML or JSON). */
export function kubernetesApi(kubeconfig: string): KubernetesApi {
  let connection: KubeConnection;
  try {
    connection = kubeConnection(load(kubeconfig));
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(
      `rewind:kubernetes.kubeconfig is not a kubeconfig (${(err as Error).message.split("\n")[0]})`,
    );
  }
  const agent = new https.Agent({
    ca: read(connection.ca),
    cert: read(connection.cert),
    key: read(connection.key),
    rejectUnauthorized: !connection.insecureSkipTlsVerify,
    keepAlive: true,
  });
  return {
    server: connection.server,
    request: (method, path, body, contentType = "application/json") =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = https.request(
          `${connection.server}${path}`,
          {
            method,
            agent,
            timeout: REQUEST_TIMEOUT_MS,
            headers: {
              accept: "application/json",
              ...(connection.token ? { authorization: `Bearer ${connection.token}` } : {}),
              ...(payload === undefined
                ? {}
                : { "content-type": contentType, "content-length": Buffer.byteLength(payload) }),
            },
          },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => (text += chunk));
            res.on("end", () => {
              const status = res.statusCode ?? 0;
              if (status === 404) return resolve(undefined);
              if (status < 200 || status > 299) {
                const message = (() => {
                  try {
                    return String((JSON.parse(text) as { message?: string }).message ?? text);
                  } catch {
                    return text;
                  }
                })();
                return reject(
                  new UserError(
                    `the Kubernetes API answered ${method} ${path} with ${status}: ${message}`,
                  ),
                );
              }
              resolve(text === "" ? undefined : JSON.parse(text));
            });
          },
        );
        req.on("timeout", () =>
          req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)),
        );
        req.on("error", (err) =>
          reject(
            err instanceof UserError
              ? err
              : new UserError(
                  `cannot reach the Kubernetes API at ${connection.server} (${err.message}); is ` +
                    `the cluster running (scripts/cluster status)?`,
                  { cause: err },
                ),
          ),
        );
        req.end(payload);
      }),
  };
}

interface DeploymentView {
  metadata?: { annotations?: Record<string, string> };
  spec?: { replicas?: number };
}

const deploymentPath = (namespace: string, name: string) =>
  `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/deployments/${encodeURIComponent(name)}`;

/** Deployment `name`, or undefined when it does not exist. */
async function readDeployment(
  api: KubernetesApi,
  namespace: string,
  name: string,
): Promise<DeploymentView | undefined> {
  return (await api.request("GET", deploymentPath(namespace, name))) as DeploymentView | undefined;
}

/** The version Deployment `name` is pinned to (Rewind's annotation), or undefined if none. */
export async function deploymentVersion(
  api: KubernetesApi,
  namespace: string,
  name: string,
): Promise<string | undefined> {
  const found = await readDeployment(api, namespace, name);
  return found?.metadata?.annotations?.[KUBERNETES_ANNOTATIONS.version];
}

/** The replicas Deployment `name` asks for, or undefined when it does not exist. */
export async function deploymentReplicas(
  api: KubernetesApi,
  namespace: string,
  name: string,
): Promise<number | undefined> {
  const found = await readDeployment(api, namespace, name);
  return found === undefined ? undefined : (found.spec?.replicas ?? 1);
}

/** Sets Deployment `name`'s replicas through its scale subresource (what `kubectl scale` does). */
export async function scaleDeployment(
  api: KubernetesApi,
  namespace: string,
  name: string,
  replicas: number,
): Promise<void> {
  await api.request(
    "PATCH",
    `${deploymentPath(namespace, name)}/scale`,
    { spec: { replicas } },
    "application/merge-patch+json",
  );
}

/** How many pods of service `name` exist (in any phase, terminating ones included). */
export async function countPods(
  api: KubernetesApi,
  namespace: string,
  name: string,
): Promise<number> {
  const selector = Object.entries(selectorLabels(name))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const list = (await api.request(
    "GET",
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${encodeURIComponent(selector)}`,
  )) as { items?: unknown[] } | undefined;
  return list?.items?.length ?? 0;
}

/** Waits until service `name` has no pod left; fails after `timeoutMs`. */
export async function waitForNoPods(
  api: KubernetesApi,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await countPods(api, namespace, name);
    if (left === 0) return;
    if (Date.now() >= deadline) {
      throw new UserError(
        `Deployment ${namespace}/${name} was scaled to 0 but ${left} pod(s) were still there ` +
          `after ${Math.round(timeoutMs / 1000)}s`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until Deployment `name` has `replicas` ready pods; fails after `timeoutMs`. */
export async function waitForReady(
  api: KubernetesApi,
  namespace: string,
  name: string,
  replicas: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await api.request("GET", deploymentPath(namespace, name))) as
      { status?: { readyReplicas?: number } } | undefined;
    const ready = found?.status?.readyReplicas ?? 0;
    if (ready >= replicas) return;
    if (Date.now() >= deadline) {
      throw new UserError(
        `Deployment ${namespace}/${name} was scaled back to ${replicas} after the restore, but ` +
          `only ${ready} pod(s) were ready after ${Math.round(timeoutMs / 1000)}s`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
