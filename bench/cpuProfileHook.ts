// Preloaded into every Node.js process of one profiled `pulumi up` (NODE_OPTIONS=--require this
// file; Node 20 refuses --cpu-prof in NODE_OPTIONS): profiles the process with the inspector
// and writes <pid>.cpuprofile into BENCH_CPU_PROFILE_DIR when it exits. Processes the engine
// kills (the dynamic provider) write nothing.
import * as fs from "node:fs";
import * as inspector from "node:inspector";
import * as path from "node:path";

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir !== undefined && dir !== "") {
  const session = new inspector.Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.start");
  process.on("exit", () => {
    // A session on the same thread answers synchronously, so this runs before the exit.
    session.post("Profiler.stop", (error, result) => {
      if (error === null) {
        const file = path.join(dir, `${process.pid}.cpuprofile`);
        fs.writeFileSync(file, JSON.stringify({ argv: process.argv, ...result.profile }));
      }
    });
  });
}
