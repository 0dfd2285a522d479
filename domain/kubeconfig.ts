// The connection a kubeconfig's current context names, from the parsed document: the one rule
// for reading it, shared by every adapter that talks to the API server without
// @pulumi/kubernetes (what runs now, the restore's scale to 0). No I/O: paths stay paths.
import { UserError } from "./errors";

/** A credential given inline (base64 `*-data`) or as a file path. */
export type Material = { readonly data: string } | { readonly path: string };

/** How to reach and authenticate to the API server. */
export interface KubeConnection {
  readonly server: string;
  readonly ca?: Material;
  readonly cert?: Material;
  readonly key?: Material;
  readonly token?: string;
  readonly insecureSkipTlsVerify: boolean;
}

type Doc = Record<string, unknown>;

function object(value: unknown): Doc {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Doc) : {};
}

function named(list: unknown, name: string, what: string): Doc {
  const found = (Array.isArray(list) ? list : []).map(object).find((e) => e.name === name);
  if (found === undefined) {
    throw new UserError(`rewind:kubernetes.kubeconfig names ${what} "${name}" but defines none`);
  }
  return found;
}

function material(entry: Doc, key: string): Material | undefined {
  const data = entry[`${key}-data`];
  if (typeof data === "string" && data !== "") return { data };
  const path = entry[key];
  if (typeof path === "string" && path !== "") return { path };
  return undefined;
}

/** The connection of the kubeconfig's current context (its first context when none is set). */
export function kubeConnection(parsed: unknown): KubeConnection {
  const doc = object(parsed);
  const contexts = Array.isArray(doc.contexts) ? doc.contexts.map(object) : [];
  const current =
    typeof doc["current-context"] === "string" && doc["current-context"] !== ""
      ? named(contexts, doc["current-context"], "the context")
      : contexts[0];
  if (current === undefined) {
    throw new UserError("rewind:kubernetes.kubeconfig has no context; allowed: a kubeconfig");
  }
  const context = object(current.context);
  const cluster = object(named(doc.clusters, String(context.cluster), "the cluster").cluster);
  const user = object(named(doc.users, String(context.user), "the user").user);
  if (typeof cluster.server !== "string" || !/^https?:\/\//.test(cluster.server)) {
    throw new UserError(
      `rewind:kubernetes.kubeconfig: cluster "${String(context.cluster)}" has no server URL`,
    );
  }
  return {
    server: cluster.server.replace(/\/+$/, ""),
    ca: material(cluster, "certificate-authority"),
    cert: material(user, "client-certificate"),
    key: material(user, "client-key"),
    ...(typeof user.token === "string" ? { token: user.token } : {}),
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
  };
}
