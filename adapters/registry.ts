// The image registry over its HTTP API (distribution spec v2): a pinned version becomes a
// manifest digest, so what runs is immutable even if the tag later moves. Anonymous unless
// credentials are given; with them, the registry's basic or token flow (adapters/registryAuth.ts).
//
// Errors are plain Errors whose message is written for the user.
import { createHash } from "node:crypto";
import {
  missingVersionMessage,
  parseRepository,
  registryBaseUrl,
  versionProblem,
} from "../domain/imageRepository";
import { RegistryCredentials, registryFetch } from "./registryAuth";

// Every manifest kind an engine can run: Docker schema 2 and OCI, single-platform and index.
// Asking for all of them makes the registry answer with the digest it stores, the one
// `docker pull repo@digest` accepts.
const MANIFEST_TYPES = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
].join(", ");

const REQUEST_TIMEOUT_MS = 15_000;

async function request(
  url: string,
  method: "GET" | "HEAD",
  accept?: string,
  auth?: { repositoryPath: string; credentials?: RegistryCredentials },
): Promise<Response> {
  if (auth !== undefined) {
    return registryFetch(url, method, { accept, ...auth });
  }
  try {
    return await fetch(url, {
      method,
      headers: accept === undefined ? {} : { accept },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = err instanceof Error ? (err.cause ?? err) : err;
    throw new Error(
      `the registry at ${new URL(url).origin} did not answer ${method} ${new URL(url).pathname} ` +
        `(${String((cause as Error).message ?? cause)}); is it running and reachable?`,
    );
  }
}

/**
 * The tags of a repository, or undefined when the repository itself does not exist.
 * @param credentials for a registry that wants them; anonymous when undefined.
 */
export async function listTags(
  image: string,
  credentials?: RegistryCredentials,
): Promise<string[] | undefined> {
  const repo = parseRepository(image);
  const url = `${registryBaseUrl(repo.registry)}/v2/${repo.path}/tags/list`;
  const res = await request(url, "GET", undefined, { repositoryPath: repo.path, credentials });
  if (res.status === 404) {
    await res.arrayBuffer();
    return undefined;
  }
  if (!res.ok) {
    throw new Error(`the registry answered HTTP ${res.status} to GET ${url}`);
  }
  const body = (await res.json()) as { tags?: string[] | null };
  return body.tags ?? [];
}

/**
 * Resolves `image:version` to the digest of its manifest. A version that is already a digest
 * is checked to exist, so a typo in a digest fails here rather than at `docker pull`.
 * @param credentials for a registry that wants them; anonymous when undefined.
 * @throws Error naming the repository, the version and the versions that do exist; or, for a
 * registry that wants credentials, naming the registry and the config keys (never the password).
 */
export async function resolveDigest(
  image: string,
  version: string,
  credentials?: RegistryCredentials,
): Promise<string> {
  const problem = versionProblem(version);
  if (problem !== undefined) {
    throw new Error(problem);
  }
  const repo = parseRepository(image);
  const url = `${registryBaseUrl(repo.registry)}/v2/${repo.path}/manifests/${version}`;
  const auth = { repositoryPath: repo.path, credentials };
  const head = await request(url, "HEAD", MANIFEST_TYPES, auth);
  if (head.status === 404) {
    throw new Error(missingVersionMessage(image, version, await listTags(image, credentials)));
  }
  if (!head.ok) {
    throw new Error(`the registry answered HTTP ${head.status} to HEAD ${url}`);
  }
  const header = head.headers.get("docker-content-digest");
  if (header !== null && /^sha256:[a-f0-9]{64}$/.test(header)) {
    return header;
  }
  // The header is optional in the spec; the digest is then the hash of the bytes served.
  const get = await request(url, "GET", MANIFEST_TYPES, auth);
  if (!get.ok) {
    throw new Error(`the registry answered HTTP ${get.status} to GET ${url}`);
  }
  const body = Buffer.from(await get.arrayBuffer());
  return `sha256:${createHash("sha256").update(body).digest("hex")}`;
}
