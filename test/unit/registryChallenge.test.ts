import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseChallenge, pullScope, redact, tokenUrl } from "../../domain/registryChallenge";

describe("parseChallenge", () => {
  test("basic, as Debian's docker-registry with htpasswd sends it", () => {
    assert.deepEqual(parseChallenge(`Basic realm="rewind-auth-registry"`), {
      scheme: "basic",
      realm: "rewind-auth-registry",
    });
  });

  test("bearer with realm, service and scope, quoted values with commas", () => {
    assert.deepEqual(
      parseChallenge(
        `Bearer realm="https://auth.example.com/token",service="registry.example.com",` +
          `scope="repository:team/hunter:pull,push"`,
      ),
      {
        scheme: "bearer",
        realm: "https://auth.example.com/token",
        service: "registry.example.com",
        scope: "repository:team/hunter:pull,push",
      },
    );
  });

  test("none, an unknown scheme, or a bearer without realm is nothing to answer", () => {
    assert.equal(parseChallenge(null), undefined);
    assert.equal(parseChallenge(`Negotiate abc`), undefined);
    assert.equal(parseChallenge(`Bearer service="x"`), undefined);
  });
});

describe("tokenUrl", () => {
  test("the realm with service and the challenge's own scope", () => {
    const url = tokenUrl(
      {
        scheme: "bearer",
        realm: "https://auth.example.com/token?x=1",
        service: "reg",
        scope: "repository:a:pull",
      },
      pullScope("other"),
    );
    assert.equal(url, "https://auth.example.com/token?x=1&service=reg&scope=repository%3Aa%3Apull");
  });

  test("the repository's pull scope when the challenge names none", () => {
    const url = tokenUrl(
      { scheme: "bearer", realm: "http://127.0.0.1:5001/token" },
      pullScope("team/hunter"),
    );
    assert.equal(url, "http://127.0.0.1:5001/token?scope=repository%3Ateam%2Fhunter%3Apull");
  });

  test("a realm that is not an http(s) URL is refused", () => {
    assert.throws(
      () => tokenUrl({ scheme: "bearer", realm: "file:///etc/passwd" }, "s"),
      /not an http\(s\) URL/,
    );
  });
});

test("redact replaces every occurrence of the secret", () => {
  assert.equal(redact("a s3cret b s3cret", "s3cret"), "a *** b ***");
  assert.equal(redact("nothing", ""), "nothing");
});
