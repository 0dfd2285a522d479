// What a registry asks for when it answers 401 (RFC 7235's WWW-Authenticate, as the
// distribution spec uses it), decided without I/O: basic credentials, or a bearer token from a
// token service (realm, service, scope).

export type Challenge =
  | { readonly scheme: "basic"; readonly realm: string }
  | {
      readonly scheme: "bearer";
      readonly realm: string;
      readonly service?: string;
      readonly scope?: string;
    };

/**
 * Parses a `WWW-Authenticate` value. Only the first challenge counts: registries send one.
 * @returns undefined for a missing or unknown scheme, or a bearer challenge without a realm.
 */
export function parseChallenge(header: string | null | undefined): Challenge | undefined {
  const match = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header ?? "");
  if (match === null) {
    return undefined;
  }
  const params: Record<string, string> = {};
  // key=value or key="quoted \" value", comma separated.
  const param = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g;
  for (const [, key, quoted, token] of match[2].matchAll(param)) {
    params[key.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, "$1") : token;
  }
  const scheme = match[1].toLowerCase();
  if (scheme === "basic") {
    return { scheme: "basic", realm: params.realm ?? "" };
  }
  if (scheme === "bearer" && params.realm) {
    return {
      scheme: "bearer",
      realm: params.realm,
      ...(params.service !== undefined ? { service: params.service } : {}),
      ...(params.scope !== undefined ? { scope: params.scope } : {}),
    };
  }
  return undefined;
}

/** The pull scope of a repository, as token services expect it. */
export function pullScope(repositoryPath: string): string {
  return `repository:${repositoryPath}:pull`;
}

/**
 * The token request of a bearer challenge: the realm with `service` and `scope` (the
 * challenge's own scope when it names one, else `scope`).
 * @throws Error when the realm is not an http(s) URL.
 */
export function tokenUrl(
  challenge: Extract<Challenge, { scheme: "bearer" }>,
  scope: string,
): string {
  let url: URL;
  try {
    url = new URL(challenge.realm);
  } catch {
    throw new Error(`the registry's token realm ${JSON.stringify(challenge.realm)} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`the registry's token realm ${challenge.realm} is not an http(s) URL`);
  }
  if (challenge.service !== undefined) {
    url.searchParams.set("service", challenge.service);
  }
  url.searchParams.set("scope", challenge.scope ?? scope);
  return url.toString();
}

/**
 * A message with every occurrence of `secret` replaced, for text that may have passed through
 * a server (an echoed header, a URL): the password must never reach a log or a state file.
 */
export function redact(message: string, secret: string | undefined): string {
  return secret === undefined || secret === "" ? message : message.split(secret).join("***");
}
