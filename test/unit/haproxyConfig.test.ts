import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  haproxyConfig,
  proxyConfigKey,
  proxyConfigProblems,
  slotNames,
} from "../../domain/haproxyConfig";

describe("haproxyConfig", () => {
  test("a frontend on the public port, a backend of disabled slots, the admin socket", () => {
    const text = haproxyConfig({ service: "hunter", port: 18080, slots: 3 });
    assert.match(text, /^frontend hunter\n {4}bind :18080$/m);
    assert.match(text, /^ {4}stats socket \/state\/admin\.sock mode 600 level admin$/m);
    assert.deepEqual(
      text.split("\n").filter((l) => l.trimStart().startsWith("server ")),
      [
        "    server s1 127.0.0.1:1 disabled",
        "    server s2 127.0.0.1:1 disabled",
        "    server s3 127.0.0.1:1 disabled",
      ],
    );
    assert.doesNotMatch(text, /httpchk|http-buffer-request/);
    // WebSocket tunnels and long transfers are bounded by inactivity only.
    assert.match(text, /^ {4}timeout tunnel 1h$/m);
  });

  test("a ready path turns health checks on for every slot", () => {
    const text = haproxyConfig({ service: "hunter", port: 18080, slots: 2, readyPath: "/ready" });
    assert.match(text, /^ {4}option httpchk GET \/ready$/m);
    assert.match(
      text,
      /^ {4}server s2 127\.0\.0\.1:1 disabled check inter 1s fastinter 250ms rise 1 fall 2$/m,
    );
  });

  test("eight slots by default", () => {
    assert.equal(slotNames(8).length, 8);
    const text = haproxyConfig({ service: "a", port: 2000 });
    assert.match(text, /server s8 /);
    assert.doesNotMatch(text, /server s9 /);
  });

  test("each bad argument is named with what is allowed", () => {
    assert.deepEqual(
      proxyConfigProblems({ service: "Hunter", port: 80, slots: 1, readyPath: "ready now" }),
      [
        `service is "Hunter"; allowed: a DNS label (lowercase letters, digits and -, at most 63)`,
        "port is 80; allowed: an integer from 1024 to 65535",
        "slots is 1; allowed: an integer from 2 to 256",
        `readyPath is "ready now"; allowed: a URL path starting with "/" without spaces`,
      ],
    );
    assert.throws(
      () => haproxyConfig({ service: "hunter", port: 70000 }),
      new Error(
        "cannot write the proxy's config: port is 70000; allowed: an integer from 1024 to 65535",
      ),
    );
  });

  test("initial upstreams serve from the start, in the first slots, the rest in maint", () => {
    const args = { service: "hunter", port: 18080, slots: 3, readyPath: "/ready" };
    const text = haproxyConfig({ ...args, initial: ["127.0.0.1:4001", "127.0.0.1:4002"] });
    assert.deepEqual(
      text.split("\n").filter((l) => l.trimStart().startsWith("server ")),
      [
        "    server s1 127.0.0.1:4001 check inter 1s fastinter 250ms rise 1 fall 2",
        "    server s2 127.0.0.1:4002 check inter 1s fastinter 250ms rise 1 fall 2",
        "    server s3 127.0.0.1:1 disabled check inter 1s fastinter 250ms rise 1 fall 2",
      ],
    );
    // What decides a restart leaves them out: a new list is the runtime API's to set.
    assert.equal(proxyConfigKey({ ...args, initial: ["127.0.0.1:4001"] }), proxyConfigKey(args));
    assert.notEqual(proxyConfigKey({ ...args, slots: 4 }), proxyConfigKey(args));
    assert.deepEqual(proxyConfigProblems({ ...args, initial: ["a:1", "b:2", "c:3", "nope"] }), [
      `initial upstream "nope" is not allowed; allowed: "host:port"`,
      "initial has 4 upstreams; allowed: at most slots (3)",
    ]);
  });
});
