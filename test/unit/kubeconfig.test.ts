import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { kubeConnection } from "../../domain/kubeconfig";
import { UserError } from "../../domain/errors";

function kubeconfig(over: Record<string, unknown> = {}) {
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "other", cluster: { server: "https://10.0.0.1:6443" } },
      {
        name: "rewind",
        cluster: { server: "https://127.0.0.1:6443/", "certificate-authority": "/pki/ca.crt" },
      },
    ],
    users: [
      {
        name: "admin",
        user: { "client-certificate-data": "Y2VydA==", "client-key": "/pki/admin.key" },
      },
      { name: "robot", user: { token: "t0ken" } },
    ],
    contexts: [
      { name: "first", context: { cluster: "other", user: "robot" } },
      { name: "rewind", context: { cluster: "rewind", user: "admin" } },
    ],
    "current-context": "rewind",
    ...over,
  };
}

describe("kubeConnection", () => {
  test("reads the current context's cluster and user, inline data before paths", () => {
    assert.deepEqual(kubeConnection(kubeconfig()), {
      server: "https://127.0.0.1:6443",
      ca: { path: "/pki/ca.crt" },
      cert: { data: "Y2VydA==" },
      key: { path: "/pki/admin.key" },
      insecureSkipTlsVerify: false,
    });
  });

  test("without a current context, the first context; a token is used", () => {
    assert.deepEqual(kubeConnection(kubeconfig({ "current-context": "" })), {
      server: "https://10.0.0.1:6443",
      ca: undefined,
      cert: undefined,
      key: undefined,
      token: "t0ken",
      insecureSkipTlsVerify: false,
    });
  });

  test("a context naming a missing user is the user's to fix", () => {
    assert.throws(() => kubeConnection(kubeconfig({ "current-context": "nope" })), {
      name: "UserError",
      message: 'rewind:kubernetes.kubeconfig names the context "nope" but defines none',
    });
  });

  test("no context at all, or no server, is refused", () => {
    assert.throws(() => kubeConnection({}), UserError);
    const noServer = kubeconfig();
    (noServer.clusters[1].cluster as Record<string, unknown>).server = "127.0.0.1";
    assert.throws(() => kubeConnection(noServer), {
      message: 'rewind:kubernetes.kubeconfig: cluster "rewind" has no server URL',
    });
  });
});
