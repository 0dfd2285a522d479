import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkDockerDeployment, checkImageRef, tagOf } from "../../policy/imagesPinned";
import { UNKNOWN } from "../../policy/resources";

const DIGEST = "sha256:" + "a".repeat(64);
const imageRef = { image: "127.0.0.1:5000/hunter", version: "1.1.0" };
const deployment = { ref: `127.0.0.1:5000/hunter@${DIGEST}`, version: "1.1.0" };
const production = { requireDigest: true };
const development = { requireDigest: false };

describe("images-pinned: tagOf", () => {
  test("reads the tag, not the registry's port, and ignores a digest", () => {
    assert.equal(tagOf("127.0.0.1:5000/hunter"), undefined);
    assert.equal(tagOf("127.0.0.1:5000/hunter:1.1.0"), "1.1.0");
    assert.equal(tagOf("hunter:latest"), "latest");
    assert.equal(tagOf(`hunter@${DIGEST}`), undefined);
  });
});

describe("images-pinned: ImageRef", () => {
  test("an immutable tag passes", () => {
    assert.deepEqual(checkImageRef(imageRef), []);
  });

  test("a digest passes", () => {
    assert.deepEqual(checkImageRef({ ...imageRef, version: DIGEST }), []);
  });

  test("latest is refused, in any case", () => {
    assert.deepEqual(checkImageRef({ ...imageRef, version: "Latest" }), [
      `Image "127.0.0.1:5000/hunter" is pinned to "latest", which moves; pin an immutable tag ` +
        `or a sha256: digest.`,
    ]);
  });

  test("no version is refused", () => {
    assert.deepEqual(checkImageRef({ ...imageRef, version: "" }), [
      `Image "127.0.0.1:5000/hunter" has no version; pin an immutable tag or a sha256: digest.`,
    ]);
  });

  test("an image carrying the tag latest is refused", () => {
    assert.deepEqual(checkImageRef({ ...imageRef, image: "127.0.0.1:5000/hunter:latest" }), [
      `Image "127.0.0.1:5000/hunter:latest" carries the tag "latest"; name the repository ` +
        `without a tag and pin an immutable tag or a sha256: digest as its version.`,
    ]);
  });

  test("an unknown version (preview) is not judged", () => {
    assert.deepEqual(checkImageRef({ ...imageRef, version: UNKNOWN }), []);
  });
});

describe("images-pinned: DockerDeployment", () => {
  test("a digest-pinned ref passes in production", () => {
    assert.deepEqual(checkDockerDeployment(deployment, production), []);
  });

  test("a tag passes outside production", () => {
    const tagged = { ...deployment, ref: "127.0.0.1:5000/hunter:1.1.0" };
    assert.deepEqual(checkDockerDeployment(tagged, development), []);
    assert.deepEqual(checkDockerDeployment(tagged, {}), []);
  });

  test("a tag not resolved to a digest is refused in production", () => {
    const tagged = { ...deployment, ref: "127.0.0.1:5000/hunter:1.1.0" };
    assert.deepEqual(checkDockerDeployment(tagged, production), [
      `The deployment runs "127.0.0.1:5000/hunter:1.1.0", a tag not resolved to a digest; this ` +
        `stack requires image@sha256:… (the ImageRef's ref).`,
    ]);
  });

  test("a ref tagged latest is refused everywhere", () => {
    const latest = { ...deployment, ref: "127.0.0.1:5000/hunter:latest" };
    assert.deepEqual(checkDockerDeployment(latest, development), [
      `The deployment runs "127.0.0.1:5000/hunter:latest", which is "latest"; run the ` +
        `ImageRef's ref (image@sha256:…).`,
    ]);
  });

  test("a ref without a tag means latest and is refused", () => {
    const untagged = { ...deployment, ref: "127.0.0.1:5000/hunter" };
    assert.deepEqual(checkDockerDeployment(untagged, development), [
      `The deployment runs "127.0.0.1:5000/hunter", which is "latest" (no tag); run the ` +
        `ImageRef's ref (image@sha256:…).`,
    ]);
  });

  test("a version of latest is refused", () => {
    assert.deepEqual(checkDockerDeployment({ ...deployment, version: "latest" }, production), [
      `The deployment's version is "latest", which moves; pin an immutable tag or a sha256: digest.`,
    ]);
  });

  test("no ref is refused", () => {
    assert.deepEqual(checkDockerDeployment({ ...deployment, ref: "" }, development), [
      `The deployment names no image ref; run the ImageRef's ref (image@sha256:…).`,
    ]);
  });

  test("an unknown ref (preview: the ImageRef is still to resolve) is not judged", () => {
    assert.deepEqual(checkDockerDeployment({ ...deployment, ref: UNKNOWN }, production), []);
  });
});
