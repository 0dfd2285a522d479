import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { engineAddress } from "../../adapters/docker";

describe("DOCKER_HOST", () => {
  test("unix sockets, plain tcp and the default socket", () => {
    assert.deepEqual(engineAddress("unix:///run/rewind/docker.sock"), {
      socketPath: "/run/rewind/docker.sock",
    });
    assert.deepEqual(engineAddress("tcp://127.0.0.1:2375"), {
      host: "127.0.0.1",
      port: 2375,
      protocol: "http",
    });
    assert.deepEqual(engineAddress(undefined), { socketPath: "/var/run/docker.sock" });
  });

  test("anything else is refused, naming the forms allowed", () => {
    assert.throws(
      () => engineAddress("ssh://me@host"),
      new Error(
        `DOCKER_HOST is "ssh://me@host"; allowed: unix:///path/to/docker.sock or tcp://host:port`,
      ),
    );
  });
});
