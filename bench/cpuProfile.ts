// Reads the CPU profiles bench/cpuProfileHook.ts wrote for one `pulumi up` and says where the
// program process spent its time, by what it was doing: waiting for the engine, loading
// modules, serializing dynamic providers, the SDK's runtime, Rewind's own code.
import * as fs from "node:fs";
import * as path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  argv: string[];
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const LOADING = new Set([
  "Module._load",
  "Module._compile",
  "Module.require",
  "require",
  "wrapSafe",
]);

/** What a sample was doing, from its own frame and its callers. */
function categorize(stack: readonly ProfileNode["callFrame"][]): string {
  const own = stack[0];
  if (own.functionName === "(idle)") return "idle (waiting for the engine)";
  if (own.functionName === "(garbage collector)") return "garbage collection";
  const loading = stack.some(
    (f) => LOADING.has(f.functionName) || f.url.includes("internal/modules/"),
  );
  const closure = stack.some(
    (f) => f.url.includes("@pulumi/pulumi/runtime/closure") || f.url.includes("typescript-shim"),
  );
  // The SDK's runtime requires its closure serializer at start, and that requires TypeScript
  // (the project's own 9 MB typescript.js, found before the SDK's vendored one): loading, with
  // or without a dynamic provider to serialize.
  if (closure && loading) return "loading the closure serializer and the TypeScript it requires";
  if (closure) return "serializing dynamic providers (closure serializer, TypeScript parser)";
  if (loading) return "loading and compiling modules";
  if (stack.some((f) => f.url.includes("/dist/") && !f.url.includes("node_modules"))) {
    return "Rewind's program code";
  }
  if (stack.some((f) => f.url.includes("@pulumi/pulumi") || f.url.includes("@grpc"))) {
    return "Pulumi SDK runtime and gRPC";
  }
  return "other";
}

/** Milliseconds by category for the program process (the one running cmd/run), if profiled. */
export function programCpuBreakdown(
  dir: string,
): { total: number; by: [string, number][] } | undefined {
  if (!fs.existsSync(dir)) return undefined;
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as CpuProfile;
    if (!profile.argv.some((a) => a.includes("cmd/run/index.js"))) continue;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const memo = new Map<number, string>();
    const category = (id: number): string => {
      const known = memo.get(id);
      if (known !== undefined) return known;
      const stack: ProfileNode["callFrame"][] = [];
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const node = byId.get(cur);
        if (node !== undefined) stack.push(node.callFrame);
      }
      const c = categorize(stack);
      memo.set(id, c);
      return c;
    };
    const by = new Map<string, number>();
    profile.samples.forEach((id, i) => {
      const c = category(id);
      by.set(c, (by.get(c) ?? 0) + profile.timeDeltas[i] / 1000);
    });
    return {
      total: (profile.endTime - profile.startTime) / 1000,
      by: [...by].sort((a, b) => b[1] - a[1]),
    };
  }
  return undefined;
}

/** One sentence of {@link programCpuBreakdown}. */
export function describeCpu(b: { total: number; by: [string, number][] }): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return (
    `the program process (CPU profile, ${s(b.total)}): ` +
    b.by
      .filter(([, ms]) => ms >= 50)
      .map(([what, ms]) => `${what} ${s(ms)}`)
      .join(", ")
  );
}
