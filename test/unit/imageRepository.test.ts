import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  digestRef,
  isDigest,
  missingVersionMessage,
  parseRepository,
  registryBaseUrl,
  repositoryProblem,
  sortTags,
  splitDigestRef,
  versionProblem,
} from "../../domain/imageRepository";

const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("repositories", () => {
  test("a repository in a registry splits into host and path", () => {
    assert.deepEqual(parseRepository("127.0.0.1:5000/hunter"), {
      registry: "127.0.0.1:5000",
      path: "hunter",
    });
    assert.deepEqual(parseRepository("registry.example.com/team/hunter-api"), {
      registry: "registry.example.com",
      path: "team/hunter-api",
    });
    assert.deepEqual(parseRepository("localhost/hunter"), {
      registry: "localhost",
      path: "hunter",
    });
  });

  test("a tag or digest in the repository is refused: the version is pinned separately", () => {
    assert.equal(
      repositoryProblem("127.0.0.1:5000/hunter:1.0.0"),
      `image "127.0.0.1:5000/hunter:1.0.0" carries a tag or digest; allowed: a repository ` +
        `without tag or digest (e.g. "127.0.0.1:5000/hunter"), with the version pinned separately`,
    );
    assert.match(repositoryProblem(`127.0.0.1:5000/hunter@${DIGEST}`) ?? "", /carries a tag/);
    assert.match(repositoryProblem("hunter:1.0.0") ?? "", /carries a tag/);
  });

  test("a Docker Hub short name is refused, naming what is allowed", () => {
    assert.equal(
      repositoryProblem("library/hunter"),
      `image "library/hunter" names no registry host; allowed: a repository in a registry ` +
        `Rewind can reach, e.g. "127.0.0.1:5000/hunter" (Docker Hub short names are not resolved)`,
    );
    assert.match(repositoryProblem("hunter") ?? "", /names no registry host/);
  });

  test("uppercase or empty path components are refused", () => {
    assert.match(repositoryProblem("127.0.0.1:5000/Hunter") ?? "", /is not a valid repository/);
    assert.match(repositoryProblem("127.0.0.1:5000/") ?? "", /is not a valid repository/);
    assert.match(repositoryProblem("127.0.0.1:5000/a//b") ?? "", /is not a valid repository/);
    assert.throws(() => parseRepository("hunter"), /names no registry host/);
  });
});

describe("versions", () => {
  test("immutable tags and digests are allowed", () => {
    for (const v of ["1.0.0", "1.2.0-bad", "v2_rc.1", DIGEST]) {
      assert.equal(versionProblem(v), undefined, v);
    }
  });

  test("latest, empty and malformed versions are refused with what is allowed", () => {
    assert.equal(
      versionProblem("latest"),
      `version "latest" is not allowed; allowed: an immutable image tag (not "latest"; ` +
        `letters, digits, _ . -, at most 128 characters) or a sha256:<64 hex> digest`,
    );
    for (const v of ["LATEST", "", "-1", "a b", "sha256:abc", "x".repeat(129)]) {
      assert.notEqual(versionProblem(v), undefined, v);
    }
  });
});

describe("registry addresses and references", () => {
  test("loopback registries are plain HTTP, others HTTPS", () => {
    assert.equal(registryBaseUrl("127.0.0.1:5000"), "http://127.0.0.1:5000");
    assert.equal(registryBaseUrl("localhost:5000"), "http://localhost:5000");
    assert.equal(registryBaseUrl("127.8.9.10"), "http://127.8.9.10");
    assert.equal(registryBaseUrl("registry.example.com"), "https://registry.example.com");
    assert.equal(registryBaseUrl("127.example.com:443"), "https://127.example.com:443");
  });

  test("digest references round-trip", () => {
    const ref = digestRef("127.0.0.1:5000/hunter", DIGEST);
    assert.equal(ref, `127.0.0.1:5000/hunter@${DIGEST}`);
    assert.deepEqual(splitDigestRef(ref), { image: "127.0.0.1:5000/hunter", digest: DIGEST });
    assert.equal(splitDigestRef("127.0.0.1:5000/hunter:1.0.0"), undefined);
    assert.equal(splitDigestRef("127.0.0.1:5000/hunter@sha256:short"), undefined);
    assert.equal(isDigest(DIGEST), true);
  });
});

describe("a version missing from the registry", () => {
  test("names the repository, the version and the versions that exist, in version order", () => {
    assert.equal(
      missingVersionMessage("127.0.0.1:5000/hunter", "9.9.9", ["1.10.0", "1.2.0", "1.0.0"]),
      `image 127.0.0.1:5000/hunter has no version "9.9.9" in its registry; versions that ` +
        `exist: 1.0.0, 1.2.0, 1.10.0. Pin one of them, or push 9.9.9 first`,
    );
  });

  test("a repository without tags or without existence says so", () => {
    assert.match(missingVersionMessage("r/x", "1", []), /versions that exist: none\./);
    assert.match(missingVersionMessage("r/x", "1", undefined), /image r\/x does not exist/);
  });

  test("a long tag list shows the newest and counts the rest", () => {
    const tags = Array.from({ length: 25 }, (_, i) => `1.${i}.0`);
    const message = missingVersionMessage("r/x", "2.0.0", tags);
    assert.match(message, /exist: 1\.5\.0, .*, 1\.24\.0 \(and 5 older\)\./);
  });

  test("tags sort numerically", () => {
    assert.deepEqual(sortTags(["1.10.0", "1.9.0", "1.9.0-bad"]), ["1.9.0", "1.9.0-bad", "1.10.0"]);
  });
});
