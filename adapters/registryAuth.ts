// Requests to an image registry that wants credentials: basic auth, or the token flow (401 with
// `WWW-Authenticate: Bearer realm=…,service=…,scope=…` → GET realm with basic auth → token →
// the request again with the token). The Docker Engine gets the same credentials for pulls
// (dockerAuthConfig, passed to docker.ts's ensureImage).
//
// Errors name the registry and the config keys; the password is in none of them, nor in any
// URL, and whatever text comes back from a server is redacted before it reaches a message.
import {
  Challenge,
  parseChallenge,
  pullScope,
  redact,
  tokenUrl,
} from "../domain/registryChallenge";
import {
  REGISTRY_PASSWORD_KEY as PASSWORD_KEY,
  REGISTRY_USERNAME_KEY as USERNAME_KEY,
  SET_REGISTRY_PASSWORD,
} from "../domain/config/app";

/** The config keys the credentials come from, named in every error about them. */
export { PASSWORD_KEY, USERNAME_KEY };

/** A registry user and password (the password a Pulumi secret in config). */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

const REQUEST_TIMEOUT_MS = 15_000;

/** What the Docker Engine's X-Registry-Auth carries (dockerode's `authconfig`). */
export interface DockerAuthConfig {
  readonly username: string;
  readonly password: string;
  /** The registry's `host[:port]`, as the image reference names it. */
  readonly serveraddress: string;
}

/** The engine's auth for pulls from `registry` (`host[:port]`). */
export function dockerAuthConfig(
  registry: string,
  credentials: RegistryCredentials,
): DockerAuthConfig {
  return {
    username: credentials.username,
    password: credentials.password,
    serveraddress: registry,
  };
}

function basic(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}

async function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  password: string | undefined,
): Promise<Response> {
  try {
    return await fetch(url, { method, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (err) {
    const cause = err instanceof Error ? (err.cause ?? err) : err;
    const u = new URL(url);
    throw new Error(
      redact(
        `the registry at ${u.origin} did not answer ${method} ${u.pathname} ` +
          `(${String((cause as Error).message ?? cause)}); is it running and reachable?`,
        password,
      ),
    );
  }
}

function needsCredentials(origin: string, challenge: Challenge, what: string): Error {
  const realm = challenge.realm ? ` (realm "${challenge.realm}")` : "";
  return new Error(
    `the registry at ${origin} wants credentials to ${what}${realm}; set ${USERNAME_KEY} and ` +
      `${PASSWORD_KEY} (pulumi config set --path ${USERNAME_KEY} <user> && ` +
      `${SET_REGISTRY_PASSWORD})`,
  );
}

function refused(origin: string, credentials: RegistryCredentials, status: number): Error {
  return new Error(
    `the registry at ${origin} refused the credentials of user "${credentials.username}" ` +
      `(${USERNAME_KEY}, ${PASSWORD_KEY}): HTTP ${status}; fix the user or the password ` +
      `(${SET_REGISTRY_PASSWORD})`,
  );
}

function denied(origin: string, credentials: RegistryCredentials | undefined, what: string): Error {
  const who =
    credentials === undefined
      ? "anonymous access"
      : `user "${credentials.username}" (${USERNAME_KEY})`;
  return new Error(
    `the registry at ${origin} does not allow ${who} to ${what} (HTTP 403); grant it pull ` +
      `access or set ${USERNAME_KEY} and ${PASSWORD_KEY} to a user that has it`,
  );
}

/** Fetches a bearer token for `scope`, with basic auth when there are credentials. */
async function fetchToken(
  origin: string,
  challenge: Extract<Challenge, { scheme: "bearer" }>,
  scope: string,
  credentials: RegistryCredentials | undefined,
  what: string,
): Promise<string> {
  const url = tokenUrl(challenge, scope);
  const headers: Record<string, string> =
    credentials === undefined ? {} : { authorization: basic(credentials) };
  const res = await send(url, "GET", headers, credentials?.password);
  if (res.status === 401) {
    await res.arrayBuffer();
    throw credentials === undefined
      ? needsCredentials(origin, challenge, what)
      : refused(origin, credentials, 401);
  }
  if (res.status === 403) {
    await res.arrayBuffer();
    throw denied(origin, credentials, what);
  }
  if (!res.ok) {
    await res.arrayBuffer();
    throw new Error(
      `the registry's token service ${new URL(url).origin}${new URL(url).pathname} answered ` +
        `HTTP ${res.status} for ${what}`,
    );
  }
  const body = (await res.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
  const token = typeof body.token === "string" ? body.token : body.access_token;
  if (typeof token !== "string" || token === "") {
    throw new Error(
      `the registry's token service ${new URL(url).origin} answered without a token for ${what}`,
    );
  }
  return token;
}

/**
 * One request to a registry, authenticated as the registry asks: first without credentials;
 * on a 401, again with basic auth or a bearer token for `repositoryPath`'s pull scope.
 * A 401 or 403 that remains is thrown as a user error naming the registry and the config keys;
 * any other status is returned for the caller to read (404 included).
 */
export async function registryFetch(
  url: string,
  method: "GET" | "HEAD",
  options: {
    readonly accept?: string;
    /** The repository the request is about (the token's scope). */
    readonly repositoryPath: string;
    readonly credentials?: RegistryCredentials;
  },
): Promise<Response> {
  const { credentials, repositoryPath } = options;
  const origin = new URL(url).origin;
  const what = `pull ${repositoryPath}`;
  const headers: Record<string, string> =
    options.accept === undefined ? {} : { accept: options.accept };
  const first = await send(url, method, headers, credentials?.password);
  if (first.status !== 401) {
    if (first.status === 403) {
      await first.arrayBuffer();
      throw denied(origin, credentials, what);
    }
    return first;
  }
  const challenge = parseChallenge(first.headers.get("www-authenticate"));
  await first.arrayBuffer();
  if (challenge === undefined) {
    throw new Error(
      `the registry at ${origin} answered HTTP 401 to ${method} ${new URL(url).pathname} ` +
        `without a Basic or Bearer challenge Rewind can answer`,
    );
  }
  let authorization: string;
  if (challenge.scheme === "basic") {
    if (credentials === undefined) {
      throw needsCredentials(origin, challenge, what);
    }
    authorization = basic(credentials);
  } else {
    const token = await fetchToken(origin, challenge, pullScope(repositoryPath), credentials, what);
    authorization = `Bearer ${token}`;
  }
  const second = await send(url, method, { ...headers, authorization }, credentials?.password);
  if (second.status === 401) {
    await second.arrayBuffer();
    throw credentials === undefined
      ? needsCredentials(origin, challenge, what)
      : refused(origin, credentials, 401);
  }
  if (second.status === 403) {
    await second.arrayBuffer();
    throw denied(origin, credentials, what);
  }
  return second;
}
