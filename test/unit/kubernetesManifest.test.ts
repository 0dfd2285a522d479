import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  DRAIN_SECONDS,
  Workload,
  deploymentManifest,
  serviceManifest,
} from "../../domain/kubernetesManifest";

const REF = `127.0.0.1:5000/hunter@sha256:${"a".repeat(64)}`;
const WORKLOAD: Workload = {
  service: "hunter",
  namespace: "prod",
  stackId: "rewind/prod",
  ref: REF,
  version: "1.1.0",
  replicas: 2,
  port: 8000,
  health: { live: "/healthz/live", ready: "/healthz/ready", timeoutSeconds: 45 },
  envSecret: "hunter-env",
  envVersion: "4711",
};

describe("deploymentManifest", () => {
  test("the image by digest, the probes from rewind:app.health, no unavailable replica", () => {
    const d = deploymentManifest(WORKLOAD);
    assert.deepEqual(d.metadata, {
      name: "hunter",
      namespace: "prod",
      labels: { "app.kubernetes.io/name": "hunter", "app.kubernetes.io/managed-by": "rewind" },
      annotations: {
        "rewind.dev/version": "1.1.0",
        "rewind.dev/stack": "rewind/prod",
        "pulumi.com/timeoutSeconds": "45",
        "pulumi.com/patchForce": "true",
      },
    });
    assert.equal(d.spec.replicas, 2);
    assert.deepEqual(d.spec.selector, { matchLabels: { "app.kubernetes.io/name": "hunter" } });
    assert.deepEqual(d.spec.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
    assert.equal(d.spec.progressDeadlineSeconds, 45);
    assert.deepEqual(d.spec.template.metadata.annotations, {
      "rewind.dev/version": "1.1.0",
      "rewind.dev/env-version": "4711",
    });
    const [c] = d.spec.template.spec.containers;
    assert.deepEqual(c, {
      name: "hunter",
      image: REF,
      imagePullPolicy: "IfNotPresent",
      ports: [{ name: "http", containerPort: 8000 }],
      env: [{ name: "PORT", value: "8000" }],
      envFrom: [{ secretRef: { name: "hunter-env" } }],
      startupProbe: {
        httpGet: { path: "/healthz/live", port: 8000 },
        periodSeconds: 1,
        timeoutSeconds: 1,
        failureThreshold: 45,
      },
      readinessProbe: {
        httpGet: { path: "/healthz/ready", port: 8000 },
        periodSeconds: 1,
        timeoutSeconds: 1,
        failureThreshold: 2,
      },
      livenessProbe: {
        httpGet: { path: "/healthz/live", port: 8000 },
        periodSeconds: 5,
        timeoutSeconds: 1,
        failureThreshold: 3,
      },
      lifecycle: { preStop: { sleep: { seconds: DRAIN_SECONDS } } },
    });
    // Long enough for the drain and the app's own shutdown.
    assert.ok(d.spec.template.spec.terminationGracePeriodSeconds > DRAIN_SECONDS);
  });

  test("a startup path and a command are used when given", () => {
    const d = deploymentManifest({
      ...WORKLOAD,
      command: ["node", "worker.js"],
      health: { ...WORKLOAD.health, startup: "/healthz/startup" },
    });
    const [c] = d.spec.template.spec.containers;
    assert.deepEqual(c.args, ["node", "worker.js"]);
    assert.equal(c.startupProbe.httpGet.path, "/healthz/startup");
  });

  test("a digest as the version is an annotation, never a label (labels cannot hold it)", () => {
    const version = `sha256:${"b".repeat(64)}`;
    const d = deploymentManifest({ ...WORKLOAD, version });
    assert.equal(d.metadata.annotations["rewind.dev/version"], version);
    for (const value of Object.values({
      ...d.metadata.labels,
      ...d.spec.template.metadata.labels,
    })) {
      assert.match(value, /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/);
    }
  });
});

describe("serviceManifest", () => {
  test("a ClusterIP Service on the app's port, selecting the Deployment's pods", () => {
    assert.deepEqual(serviceManifest(WORKLOAD), {
      metadata: {
        name: "hunter",
        namespace: "prod",
        labels: { "app.kubernetes.io/name": "hunter", "app.kubernetes.io/managed-by": "rewind" },
        annotations: { "rewind.dev/stack": "rewind/prod", "pulumi.com/patchForce": "true" },
      },
      spec: {
        type: "ClusterIP",
        selector: deploymentManifest(WORKLOAD).spec.selector.matchLabels,
        ports: [{ name: "http", port: 8000, targetPort: 8000, protocol: "TCP" }],
      },
    });
  });
});
