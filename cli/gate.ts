// `rewind gate`: the CI gate. A real `pulumi preview` of the stack with the policy pack, in the
// team's project; a mandatory violation fails it (exit 1) and is repeated as the verdict.
// `npm run gate` (scripts/gate) builds Rewind, then runs this.
import { spawn } from "node:child_process";
import { UserError } from "../domain/errors";
import { plain } from "./progress";
import {
  COMMON_HELP,
  CliIo,
  Command,
  ExitCode,
  UsageError,
  parseCommand,
  stringOption,
} from "./options";
import { resolvePolicyPack } from "./policyPack";
import { projectDir } from "./project";
import { StackAccess } from "./stackAccess";

const usage = `Usage: rewind gate --stack S [--policy-config NAME] [--database-url-env NAME]
                   [--project DIR]

Runs pulumi preview of the stack with Rewind's policy pack (policy/config/<stack>.json when
it exists, as rewind release does), printing the preview. A mandatory violation, or a pin the
program refuses, fails the gate; the violations are repeated at the end.

Options:
  --policy-config NAME     check with policy/config/NAME.json (a production stack named
                           otherwise, e.g. prod-eu: --policy-config prod)
  --database-url-env NAME  read rewind:database.url from the environment variable NAME and
                           preview with it as a secret (in a private copy of the stack's config
                           file: the committed file is never written)
  --project DIR            the team's project (default: $REWIND_PROJECT_DIR, else the folder
                           holding Pulumi.yaml from here up)
${COMMON_HELP}

Exit codes: 0 the gate passed; 1 it failed (a mandatory violation, or the preview failed);
2 bad input (arguments, an unknown --policy-config, a stack that does not exist).`;

/** Exit code of a failed gate: CI reads any non-zero code; 1 is the preview's verdict. */
const GATE_FAILED = 1 as ExitCode;

export const gate: Command = {
  name: "gate",
  summary: "the CI gate: pulumi preview with the policy pack; fails on a mandatory violation",
  usage,
  async run(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const { common, values } = parseCommand(
      args,
      {
        "policy-config": { type: "string" },
        "database-url-env": { type: "string" },
        project: { type: "string" },
      },
      io.env,
    );
    if (common.help) {
      io.stdout(`${usage}\n`);
      return ExitCode.ok;
    }
    if (common.stack === undefined) {
      throw new UsageError("--stack S is required: the stack to gate");
    }
    const urlEnv = stringOption(values, "database-url-env");
    const url = urlEnv === undefined ? undefined : databaseUrlFrom(io.env, urlEnv);
    const project = stringOption(values, "project");
    const dir = project === undefined ? projectDir(io.env) : project;
    const session = await StackAccess.open(dir, common.stack);
    // A typo in --stack fails here, naming the project, not in the middle of a preview.
    await session.automationStack();
    const policy = resolvePolicyPack(
      session.workDir,
      session.name,
      stringOption(values, "policy-config"),
    );
    const preview = async (configFile?: string): Promise<{ ok: boolean; output: string }> => {
      const previewArgs = [
        "preview",
        "--stack",
        session.name,
        "--policy-pack",
        policy.pack,
        ...(policy.config === undefined ? [] : ["--policy-pack-config", policy.config]),
        ...(configFile === undefined ? [] : ["--config-file", configFile]),
        "--non-interactive",
        "--color",
        "never",
      ];
      io.stderr(`[gate] pulumi ${previewArgs.join(" ")}\n`);
      return runStreaming(session.workDir, previewArgs, session.environment, io);
    };
    const result =
      url === undefined
        ? await preview()
        : await session.withConfigCopy(async (copy) => {
            await session.pulumi(
              ["config", "set", "--path", "--secret", "--raw", "rewind:database.url"].concat([
                "--stack",
                session.name,
                "--config-file",
                copy,
              ]),
              url,
            );
            return preview(copy);
          });
    if (result.ok) {
      io.stdout(`[gate] gate passed for stack ${session.name}\n`);
      return ExitCode.ok;
    }
    io.stdout(
      `[gate] gate FAILED for stack ${session.name}; mandatory violations:\n` +
        `${mandatoryLines(result.output) || "    (none reported: the preview itself failed, see above)"}\n`,
    );
    return GATE_FAILED;
  },
};

/** The value of $NAME, which must be set: an empty URL would preview with none. */
function databaseUrlFrom(env: CliIo["env"], name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new UsageError(`--database-url-env ${JSON.stringify(name)} is not a variable name`);
  }
  const value = env[name];
  if (value === undefined || value.trim() === "") {
    throw new UserError(
      `--database-url-env ${name}: $${name} is not set; CI sets it from the repository's ` +
        `secrets (see the workflow's env)`,
    );
  }
  return value;
}

/** Each `[mandatory]` line of the preview with the two lines after it (policy, message). */
export function mandatoryLines(output: string): string {
  const lines = plain(output).split("\n");
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (/\[mandatory\]/.test(line)) {
      out.push(...lines.slice(i, i + 3).map((l) => l.replace(/^ {4}/, "")));
    }
  });
  return out.join("\n");
}

/** Runs `pulumi <args>` in `cwd`, passing its output through as it comes, and keeps it. */
function runStreaming(
  cwd: string,
  args: readonly string[],
  environment: Record<string, string>,
  io: CliIo,
): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", [...args], {
      cwd,
      env: { ...process.env, ...environment, PULUMI_SKIP_UPDATE_CHECK: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
      io.stdout(d.toString());
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
      io.stderr(d.toString());
    });
    child.on("error", (error) =>
      reject(new Error(`cannot run pulumi (${error.message}); is the Pulumi CLI on PATH?`)),
    );
    child.on("close", (code) => resolve({ ok: code === 0, output }));
  });
}
