// A TCP forwarder as its own process, so a test or bench that blocks its event loop (a
// synchronous kubectl) never stalls the pods' database connections:
//   node dist/test/support/tcpForward.js <listen host> <target port on 127.0.0.1>
// It prints the port it listens on (a free one) as its first line and runs until SIGTERM.
import * as net from "node:net";

function main(): void {
  const [host, target] = process.argv.slice(2);
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target), "127.0.0.1");
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, host, () => {
    process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`);
  });
  process.on("SIGTERM", () => process.exit(0));
}

if (require.main === module) main();
