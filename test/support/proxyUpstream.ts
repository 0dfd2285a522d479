// A replica for the proxy's integration tests and bench, run as its own process (node
// dist/test/support/proxyUpstream.js) so that stopping it is a SIGTERM, as for a container:
//   GET  /ready          200 once listening
//   GET  /id             {"id"}: which replica answered
//   GET  /slow?ms=N      answers 200 after N ms
//   POST /upload         streams the body through sha256: {"id","bytes","sha256"}
//   GET  /ws (Upgrade)   a WebSocket (handshake written by hand): sends "hello <id>", echoes
//                        text frames; on SIGTERM it sends a close frame (1001) before exiting
// On SIGTERM it closes its WebSockets cleanly (a close frame) and exits at once, cutting any
// HTTP request still in flight: like many apps, it does not drain, so the tests see whether the
// proxy's drain kept requests away from it before it was stopped.
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { Duplex } from "node:stream";

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The Sec-WebSocket-Accept value for a Sec-WebSocket-Key (RFC 6455 §4.2.2). */
export function websocketAccept(key: string): string {
  return createHash("sha1")
    .update(key + WS_GUID)
    .digest("base64");
}

/** One unmasked server frame (FIN set). */
export function websocketFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([0x80 | opcode, length])
      : Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff]);
  return Buffer.concat([header, payload]);
}

/** Frames complete in `buffer` (masked or not), and the bytes left over. */
export function readFrames(buffer: Buffer): {
  frames: { opcode: number; payload: Buffer }[];
  rest: Buffer;
} {
  const frames: { opcode: number; payload: Buffer }[] = [];
  let at = 0;
  for (;;) {
    if (buffer.length - at < 2) break;
    const opcode = buffer[at] & 0x0f;
    const masked = (buffer[at + 1] & 0x80) !== 0;
    let length = buffer[at + 1] & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      if (buffer.length - at < 4) break;
      length = buffer.readUInt16BE(at + 2);
      offset += 2;
    } else if (length === 127) {
      throw new Error("frames over 64 KiB are not used here");
    }
    const maskAt = offset;
    if (masked) offset += 4;
    if (buffer.length < offset + length) break;
    const payload = Buffer.from(buffer.subarray(offset, offset + length));
    if (masked) {
      for (let i = 0; i < payload.length; i++) payload[i] ^= buffer[maskAt + (i % 4)];
    }
    frames.push({ opcode, payload });
    at = offset + length;
  }
  return { frames, rest: buffer.subarray(at) };
}

function main(): void {
  const id = process.env.UPSTREAM_ID ?? "upstream";
  const port = Number(process.env.PORT);
  const sockets = new Set<Duplex>();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://upstream");
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && url.pathname === "/ready") {
      json(200, { ready: true, id });
    } else if (req.method === "GET" && url.pathname === "/id") {
      json(200, { id });
    } else if (req.method === "GET" && url.pathname === "/slow") {
      setTimeout(
        () => json(200, { id, waited: Number(url.searchParams.get("ms")) }),
        Number(url.searchParams.get("ms")),
      );
    } else if (req.method === "POST" && url.pathname === "/upload") {
      const hash = createHash("sha256");
      let bytes = 0;
      req.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on("end", () => json(200, { id, bytes, sha256: hash.digest("hex") }));
    } else {
      json(404, { error: `no ${req.method} ${url.pathname}` });
    }
  });

  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex) => {
    const key = req.headers["sec-websocket-key"];
    if (req.url !== "/ws" || typeof key !== "string") {
      socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
      return;
    }
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${websocketAccept(key)}\r\n\r\n`,
    );
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => sockets.delete(socket));
    socket.write(websocketFrame(0x1, Buffer.from(`hello ${id}`)));
    let pending: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      const { frames, rest } = readFrames(Buffer.concat([pending, chunk]));
      pending = rest;
      for (const frame of frames) {
        if (frame.opcode === 0x1) socket.write(websocketFrame(0x1, frame.payload));
        if (frame.opcode === 0x8) socket.end(websocketFrame(0x8, frame.payload));
      }
    });
  });

  process.on("SIGTERM", () => {
    // 1001 "going away": the client sees a clean close, not a cut connection.
    const goingAway = Buffer.from([0x03, 0xe9]);
    for (const socket of sockets) socket.end(websocketFrame(0x8, goingAway));
    // Long enough for the close frames to be written, not for HTTP requests to finish.
    setTimeout(() => process.exit(0), 50);
  });

  server.listen(port, "127.0.0.1", () => console.log(`${id} listening on 127.0.0.1:${port}`));
}

if (require.main === module) {
  main();
}
