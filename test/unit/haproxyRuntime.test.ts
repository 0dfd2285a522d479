// Reading HAProxy 2.6's runtime API answers (captured from rewind-haproxy) into slots.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseServersState, parseSessions, writeProxyConfig } from "../../adapters/haproxy";

const STATE_HEADER =
  "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight " +
  "srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health " +
  "srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord " +
  "srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port";

describe("parseServersState", () => {
  test("maint, ready (the config bit 4 stays), drain, a failing or not yet run check", () => {
    const text = [
      "1",
      STATE_HEADER,
      "3 app 1 s1 127.0.0.1 0 5 1 1 1 1 0 0 14 0 0 0 - 1 - 0 0 - - 0",
      "3 app 2 s2 127.0.0.1 2 4 1 1 3 15 3 2 6 0 0 0 - 18601 - 0 0 - - 0",
      "3 app 3 s3 127.0.0.1 2 12 1 1 3 15 3 2 6 0 0 0 - 18602 - 0 0 - - 0",
      "3 app 4 s4 127.0.0.1 0 4 1 1 3 15 3 2 6 0 0 0 - 18603 - 0 0 - - 0",
      // Just out of maint: running, but its first check has not run yet.
      "3 app 5 s5 127.0.0.1 2 4 1 1 0 1 0 1 6 0 0 0 - 18604 - 0 0 - - 0",
      // No health check configured: running is up.
      "3 app 6 s6 127.0.0.1 2 4 1 1 0 0 0 0 0 0 0 0 - 18605 - 0 0 - - 0",
      "",
    ].join("\n");
    assert.deepEqual(parseServersState(text), [
      {
        name: "s1",
        upstream: "127.0.0.1:1",
        admin: "maint",
        checked: true,
        up: false,
        sessions: 0,
      },
      {
        name: "s2",
        upstream: "127.0.0.1:18601",
        admin: "ready",
        checked: true,
        up: true,
        sessions: 0,
      },
      {
        name: "s3",
        upstream: "127.0.0.1:18602",
        admin: "drain",
        checked: true,
        up: true,
        sessions: 0,
      },
      // Ready but its health check fails: not up.
      {
        name: "s4",
        upstream: "127.0.0.1:18603",
        admin: "ready",
        checked: true,
        up: false,
        sessions: 0,
      },
      {
        name: "s5",
        upstream: "127.0.0.1:18604",
        admin: "ready",
        checked: true,
        up: false,
        sessions: 0,
      },
      {
        name: "s6",
        upstream: "127.0.0.1:18605",
        admin: "ready",
        checked: false,
        up: true,
        sessions: 0,
      },
    ]);
  });

  test("an answer without a table is an error that quotes it", () => {
    assert.throws(() => parseServersState("Can't find backend.\n"), /without a table header/);
  });
});

test("parseSessions: current plus queued sessions per server, not the backend's total", () => {
  const csv = [
    "# pxname,svname,qcur,qmax,scur,smax",
    "app,s1,0,0,2,5",
    "app,s2,1,1,3,3",
    "app,BACKEND,1,1,5,8",
    "",
  ].join("\n");
  assert.deepEqual(
    [...parseSessions(csv)],
    [
      ["s1", 2],
      ["s2", 4],
    ],
  );
});

test("writeProxyConfig refuses a state directory too long for the admin socket", () => {
  const long = `/tmp/${"d".repeat(110)}`;
  assert.throws(
    () => writeProxyConfig(long, { service: "hunter", port: 18080 }),
    /is longer than a unix socket path may be \(107 bytes\); allowed: a shorter state directory/,
  );
});
