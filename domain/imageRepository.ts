// Pure parsing of the image names Rewind pins: which registry a repository lives in, how to
// reach it, and the digest-pinned reference a container is started from. The registry adapter
// (adapters/registry.ts) does the HTTP; everything it decides is here, with unit tests.
// Problems are returned as sentences: the config check, the resource classes and the
// provider's checks each report them in their own way.

/** A repository split the way Docker splits it: the registry host, then the path in it. */
export interface Repository {
  /** `host[:port]`, e.g. `127.0.0.1:5000`. */
  readonly registry: string;
  /** The repository path inside the registry, e.g. `hunter` or `team/hunter`. */
  readonly path: string;
}

// Docker's reference grammar for a repository without tag or digest (the version is pinned
// separately): an optional registry host, then lowercase path components.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?$/;

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** `sha256:` and 64 hex digits. */
export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/**
 * What is wrong with a repository name, or undefined if nothing is. A tag or digest, or a name
 * without a registry host, is refused: Rewind resolves digests itself and never guesses
 * Docker Hub.
 */
export function repositoryProblem(image: string): string | undefined {
  const example = `e.g. "127.0.0.1:5000/hunter"`;
  const slash = image.indexOf("/");
  if (image.includes("@") || image.slice(slash + 1).includes(":")) {
    return (
      `image "${image}" carries a tag or digest; allowed: a repository without tag or digest ` +
      `(${example}), with the version pinned separately`
    );
  }
  const first = slash < 0 ? "" : image.slice(0, slash);
  // Docker's rule: the first component is a registry host only if it looks like one.
  if (!(first.includes(".") || first.includes(":") || first === "localhost")) {
    return (
      `image "${image}" names no registry host; allowed: a repository in a registry Rewind ` +
      `can reach, ${example} (Docker Hub short names are not resolved)`
    );
  }
  const path = image.slice(slash + 1);
  if (!HOST.test(first) || !path.split("/").every((c) => COMPONENT.test(c))) {
    return (
      `image "${image}" is not a valid repository; allowed: host[:port]/path with lowercase ` +
      `path components, ${example}`
    );
  }
  return undefined;
}

/**
 * Splits `host[:port]/path` into registry and path.
 * @throws Error with the sentence of {@link repositoryProblem}.
 */
export function parseRepository(image: string): Repository {
  const problem = repositoryProblem(image);
  if (problem !== undefined) {
    throw new Error(problem);
  }
  const slash = image.indexOf("/");
  return { registry: image.slice(0, slash), path: image.slice(slash + 1) };
}

/** What is wrong with a pinned version (an immutable tag or a digest), or undefined. */
export function versionProblem(version: string): string | undefined {
  if (isDigest(version) || (TAG.test(version) && version.toLowerCase() !== "latest")) {
    return undefined;
  }
  return (
    `version "${version}" is not allowed; allowed: an immutable image tag (not "latest"; ` +
    `letters, digits, _ . -, at most 128 characters) or a sha256:<64 hex> digest`
  );
}

/** Registries on loopback speak plain HTTP (as Docker treats 127.0.0.0/8 as insecure). */
export function registryBaseUrl(registry: string): string {
  const host = registry.replace(/:[0-9]+$/, "");
  const loopback = host === "localhost" || /^127(\.[0-9]{1,3}){3}$/.test(host) || host === "[::1]";
  return `${loopback ? "http" : "https"}://${registry}`;
}

/** `repo@sha256:…`: what a container is started from, immune to tags moving. */
export function digestRef(image: string, digest: string): string {
  return `${image}@${digest}`;
}

/** The repository and digest of a digest-pinned reference, or undefined if it is not one. */
export function splitDigestRef(ref: string): { image: string; digest: string } | undefined {
  const at = ref.lastIndexOf("@");
  if (at < 0) {
    return undefined;
  }
  const digest = ref.slice(at + 1);
  return isDigest(digest) ? { image: ref.slice(0, at), digest } : undefined;
}

// Enough to choose a different one; a repository with hundreds of tags would drown the message.
const TAGS_SHOWN = 20;

/** Orders tags the way people read versions: 1.2.0 before 1.10.0. */
export function sortTags(tags: readonly string[]): string[] {
  return [...tags].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}

/** The message for a version the registry does not have, listing those it does. */
export function missingVersionMessage(
  image: string,
  version: string,
  tags: readonly string[] | undefined,
): string {
  if (tags === undefined) {
    return (
      `image ${image} does not exist in its registry, so version "${version}" cannot be ` +
      `resolved; push the image first or fix the repository name`
    );
  }
  const sorted = sortTags(tags);
  const shown = sorted.slice(-TAGS_SHOWN);
  const more = sorted.length > shown.length ? ` (and ${sorted.length - shown.length} older)` : "";
  const existing = sorted.length === 0 ? "none" : shown.join(", ") + more;
  return (
    `image ${image} has no version "${version}" in its registry; versions that exist: ` +
    `${existing}. Pin one of them, or push ${version} first`
  );
}
