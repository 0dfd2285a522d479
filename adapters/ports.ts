// Host-network ports: the app's replicas and the router share the host's port space with every
// other process, so Rewind asks the kernel for free ports and checks the public one first.
import * as net from "node:net";

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    // No host: the same dual-stack wildcard Node servers (the app, the router) bind.
    server.listen({ port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === "object" && address !== null ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A port nobody listens on now and that is not in `taken` (ports of containers that may not
 * have bound theirs yet).
 */
export async function freePort(taken: ReadonlySet<number> = new Set()): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(0);
    if (!taken.has(port)) {
      return port;
    }
  }
  throw new Error("the kernel kept handing out ports that are already assigned to replicas");
}

/** Whether a process could listen on `port` now. */
export async function portFree(port: number): Promise<boolean> {
  try {
    await listenOnce(port);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
      return false;
    }
    throw err;
  }
}
