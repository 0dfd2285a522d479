// The front-door proxy's configuration, decided without touching HAProxy: one frontend on the
// service's public port and one backend of fixed server slots, every slot starting in
// maintenance. The runtime API (adapters/haproxy.ts) fills the slots; the file changes only when
// the port, the slot count or the health path does, which needs a restart of the proxy.

/** The backend's name in the config and in every runtime API command. */
export const BACKEND = "app";

/** The slots' name prefix: slots are `s1` … `s<slots>`. */
export const SLOT_PREFIX = "s";

/** Where the config and the admin socket live inside the proxy's container. */
export const CONTAINER_STATE_DIR = "/state";
export const CONFIG_FILE = "haproxy.cfg";
export const SOCKET_FILE = "admin.sock";

/** @default 8 server slots: two generations of up to four replicas during a swap. */
export const DEFAULT_SLOTS = 8;
/** How many slots a config may have; each is a line and a row in every state report. */
export const MAX_SLOTS = 256;

const SERVICE = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const URL_PATH = /^\/[\x21-\x7e]*$/;
/** An upstream, `host:port`. */
export const UPSTREAM = /^[A-Za-z0-9.-]+:[0-9]{1,5}$/;

/** What the config is made of. */
export interface ProxyConfigArgs {
  /** The service's name (a DNS label); names the frontend. */
  readonly service: string;
  /** The public port the frontend binds on every interface of the host. */
  readonly port: number;
  /**
   * How many upstreams the backend can hold at once. A swap needs the old and the new
   * replicas side by side, so at least twice the replicas.
   * @default DEFAULT_SLOTS
   */
  readonly slots?: number;
  /**
   * The readiness path HAProxy probes on each filled slot (GET, 2xx/3xx is up); a replica that
   * stops answering is taken out until it answers again.
   * @default undefined: no health checks, a slot serves as soon as it is set ready
   */
  readonly readyPath?: string;
  /**
   * Upstreams (`host:port`) the first slots serve from the start, so a proxy that takes over
   * the port from another serves at once instead of answering 503 until the runtime API fills
   * its slots. They are not part of what makes the config "changed" (see proxyConfigKey).
   * @default [] (every slot in maintenance)
   */
  readonly initial?: readonly string[];
}

/** What identifies a config for a restart decision: everything but the initial upstreams. */
export function proxyConfigKey(args: ProxyConfigArgs): string {
  return JSON.stringify({
    service: args.service,
    port: args.port,
    slots: args.slots ?? DEFAULT_SLOTS,
    readyPath: args.readyPath ?? null,
  });
}

/** Each problem with the arguments, naming the argument, the value and what is allowed. */
export function proxyConfigProblems(args: ProxyConfigArgs): string[] {
  const problems: string[] = [];
  if (typeof args.service !== "string" || !SERVICE.test(args.service)) {
    problems.push(
      `service is ${JSON.stringify(args.service)}; allowed: a DNS label (lowercase letters, ` +
        `digits and -, at most 63)`,
    );
  }
  if (!Number.isInteger(args.port) || args.port < 1024 || args.port > 65535) {
    problems.push(`port is ${JSON.stringify(args.port)}; allowed: an integer from 1024 to 65535`);
  }
  const slots = args.slots ?? DEFAULT_SLOTS;
  if (!Number.isInteger(slots) || slots < 2 || slots > MAX_SLOTS) {
    problems.push(`slots is ${JSON.stringify(slots)}; allowed: an integer from 2 to ${MAX_SLOTS}`);
  }
  if (args.readyPath !== undefined && !URL_PATH.test(args.readyPath)) {
    problems.push(
      `readyPath is ${JSON.stringify(args.readyPath)}; allowed: a URL path starting with "/" ` +
        `without spaces`,
    );
  }
  const initial = args.initial ?? [];
  const bad = initial.find((u) => !UPSTREAM.test(u));
  if (bad !== undefined) {
    problems.push(`initial upstream ${JSON.stringify(bad)} is not allowed; allowed: "host:port"`);
  }
  if (Number.isInteger(slots) && initial.length > slots) {
    problems.push(`initial has ${initial.length} upstreams; allowed: at most slots (${slots})`);
  }
  return problems;
}

/** `s1` … `s<n>`. */
export function slotNames(slots: number): string[] {
  return Array.from({ length: slots }, (_, i) => `${SLOT_PREFIX}${i + 1}`);
}

/**
 * The haproxy.cfg text.
 * @throws Error listing {@link proxyConfigProblems} when there are any.
 */
export function haproxyConfig(args: ProxyConfigArgs): string {
  const problems = proxyConfigProblems(args);
  if (problems.length > 0) {
    throw new Error(`cannot write the proxy's config: ${problems.join("; ")}`);
  }
  const slots = args.slots ?? DEFAULT_SLOTS;
  const check = args.readyPath === undefined ? "" : " check inter 1s fastinter 250ms rise 1 fall 2";
  const lines = [
    `# Written by Rewind for the service ${args.service}; rewritten when the port, the slots or`,
    `# the health path change. Upstreams are set through the admin socket, not in this file.`,
    "global",
    `    stats socket ${CONTAINER_STATE_DIR}/${SOCKET_FILE} mode 600 level admin`,
    "    stats timeout 10s",
    "    log stdout format raw local0 info",
    "",
    "defaults",
    "    mode http",
    "    log global",
    "    option httplog",
    // Only failed or aborted requests: every line goes through the engine's log driver, and a
    // line per request cost about half the proxy's throughput on a 2-core host (bench/proxy.ts).
    "    option dontlog-normal",
    "    option dontlognull",
    // Bodies stream (no option http-buffer-request): no size limit, nothing held in memory.
    "    timeout connect 3s",
    "    timeout http-request 30s",
    // Inactivity limits, not durations: a long upload or a slow answer is not cut while bytes
    // move.
    "    timeout client 5m",
    "    timeout server 5m",
    "    timeout client-fin 10s",
    "    timeout server-fin 10s",
    // A WebSocket (or any upgraded connection) lives in tunnel mode.
    "    timeout tunnel 1h",
    // A replica that refuses the connection (stopped between two commands) is retried on another.
    "    retries 3",
    "    option redispatch 1",
    // A pooled connection the replica closed just as it was reused (its keep-alive timeout)
    // fails before any answer: such requests are sent again, unless repeating one could do
    // something twice (the router's rule: only GET, HEAD, OPTIONS, PUT and DELETE).
    "    retry-on conn-failure empty-response",
    "",
    `frontend ${args.service}`,
    `    bind :${args.port}`,
    "    option forwardfor",
    `    default_backend ${BACKEND}`,
    "",
    `backend ${BACKEND}`,
    "    balance roundrobin",
    "    http-request disable-l7-retry unless { method GET HEAD OPTIONS PUT DELETE }",
    // Connections to replicas are kept and reused: a new one per request cost three quarters of
    // the throughput (bench/proxy.ts). Idle ones do not count as sessions, so a drain waits
    // only for requests in flight; a drained slot gets no new request on them.
    "    option http-keep-alive",
    "    http-reuse safe",
    ...(args.readyPath === undefined ? [] : [`    option httpchk GET ${args.readyPath}`]),
    // Every slot but the initial ones starts in maintenance at a placeholder address; the
    // runtime API fills it.
    ...slotNames(slots).map((name, i) => {
      const upstream = args.initial?.[i];
      return upstream === undefined
        ? `    server ${name} 127.0.0.1:1 disabled${check}`
        : `    server ${name} ${upstream}${check}`;
    }),
    "",
  ];
  return lines.join("\n");
}
