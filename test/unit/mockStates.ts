// What the mock provider answers for each of Rewind's resource types, for `recordingMocks`. A test
// lists only the types it expects, so a registration of any other still fails.
import type { MockState } from "./mocks";

export const DIGEST = `sha256:${"a".repeat(64)}`;
export const PROXY_DIGEST = `sha256:${"b".repeat(64)}`;

/** A component resource (AppService, Release): no id, no state of its own. */
export const component: MockState = () => ({ id: undefined, state: {} });

/** An ImageRef resolved to `digestOf(inputs)`; by default the proxy's image to PROXY_DIGEST, any other to DIGEST. */
export function imageRef(
  digestOf: (inputs: Record<string, unknown>) => string = (inputs) =>
    String(inputs.image).endsWith("/rewind-haproxy") ? PROXY_DIGEST : DIGEST,
): MockState {
  return (inputs) => {
    const digest = digestOf(inputs);
    const ref = `${String(inputs.image)}@${digest}`;
    return { id: ref, state: { ...inputs, digest, ref } };
  };
}

/** A DockerDeployment serving on its port on the loopback. */
export const dockerDeployment: MockState = (inputs) => ({
  id: `${String(inputs.stackId)}/${String(inputs.service)}`,
  // As the provider answers: no port, no front door, no url.
  state: {
    ...inputs,
    url: inputs.port === undefined ? "" : `http://127.0.0.1:${String(inputs.port)}`,
  },
});

/** A verified BackupSnapshot `id` in /srv/backups, having pruned `pruned`. */
export function backupSnapshot(id: string, pruned: string[] = []): MockState {
  return (inputs) => ({
    id,
    state: {
      ...inputs,
      snapshotId: id,
      sha256: "c".repeat(64),
      size: 4096,
      verified: true,
      takenAt: "2026-11-26T01:02:03.000Z",
      manifestPath: `/srv/backups/${id}/manifest.json`,
      pruned,
      pruneError: "",
    },
  });
}

/** A Migration that applied no steps. */
export const migration: MockState = (inputs) => ({
  id: "hunter-migration-id",
  state: { ...inputs, appliedSteps: [] },
});

/** A Restore of its snapshot to revision 0001, having stopped `stoppedContainers`. */
export function restore(stoppedContainers: string[] = []): MockState {
  return (inputs) => ({
    id: String(inputs.snapshotId),
    state: {
      ...inputs,
      restoredRevision: "0001",
      sha256: "d".repeat(64),
      restoredAt: "2026-11-26T01:05:00.000Z",
      stoppedContainers,
    },
  });
}

/** A HealthGate that passed. */
export const healthGate: MockState = (inputs) => ({
  id: "gate-1",
  state: { ...inputs, passed: true, checkedAt: "2026-11-26T01:06:00.000Z" },
});
