// Dynamic providers whose code runs as compiled, not as the closure serializer's copy.
//
// Pulumi stores a dynamic provider in the state as source text made by its closure serializer,
// which copies local modules by value. Copies of ES classes lose their semantics: a serialized
// `class UserError extends Error` becomes a function calling `Error.call(this, ...)`, which sets
// no message, and its `new.target` is undefined, so every `throw new UserError(...)` in a
// provider turned into "Cannot read properties of undefined (reading 'name')" on the real
// engine. Pulumi's documented way around capture problems is to `require` inside the provider
// methods; here the methods require the compiled provider module itself, so the provider
// process runs exactly the code the program was built from, with real classes, `pg`, `dockerode`.
//
// The state records the module's absolute path; if the checkout moved since (a destroy or
// refresh from another clone), the same path relative to the package root of the provider
// process's working directory (the Pulumi project) is used instead.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

type Method = "check" | "diff" | "create" | "read" | "update" | "delete";

/** The nearest directory at or above `dir` holding a package.json, or `dir` itself. */
function packageRoot(dir: string): string {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, "package.json"))) {
      return d;
    }
    if (path.dirname(d) === d) {
      return dir;
    }
  }
}

/**
 * A provider whose `methods` call the same methods of `exportName` in the compiled module
 * `file` (pass `__filename`), loaded in the provider process.
 */
export function inProcessProvider<I, O>(
  file: string,
  exportName: string,
  methods: readonly Method[],
): pulumi.dynamic.ResourceProvider<I, O> {
  const fromRoot = path.relative(packageRoot(path.dirname(file)), file);
  // Runs in the provider process: only builtins, `require` and the two strings are captured.
  const load = (): Record<Method, (...args: unknown[]) => Promise<unknown>> => {
    const target = fs.existsSync(file) ? file : path.join(packageRoot(process.cwd()), fromRoot);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the file comment
    const loaded = require(target) as Record<string, unknown>;
    const provider = loaded[exportName];
    if (provider === undefined) {
      throw new Error(`${target} exports no ${exportName}; rebuild Rewind (npx tsc -p .)`);
    }
    return provider as Record<Method, (...args: unknown[]) => Promise<unknown>>;
  };
  const provider: Partial<Record<Method, (...args: unknown[]) => Promise<unknown>>> = {};
  for (const method of methods) {
    provider[method] = (...args: unknown[]) => load()[method](...args);
  }
  return provider as pulumi.dynamic.ResourceProvider<I, O>;
}
