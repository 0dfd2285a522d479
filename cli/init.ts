// `rewind init`: makes the current folder (a team's repository) a Rewind project: Pulumi.yaml
// pointing at the installed Rewind program, a first stack in the project's own state
// (.rewind/state), its stack file with every key explained, and the CI gate's workflow.
import * as fs from "node:fs";
import * as path from "node:path";
import { serviceNameSchema, portSchema } from "../domain/config";
import { UserError } from "../domain/errors";
import {
  GITIGNORE_LINES,
  STATE_DIR,
  TeamProject,
  gateWorkflow,
  projectFile,
  stackFile,
} from "../domain/projectTemplate";
import {
  COMMON_HELP,
  CliIo,
  Command,
  ExitCode,
  UsageError,
  parseCommand,
  stringOption,
} from "./options";
import { PACKAGE_ROOT, projectEnvironment } from "./project";
import { pulumiCli } from "./stackAccess";

const usage = `Usage: rewind init [--name SERVICE] [--image REPO] [--port N] [--stack S]
                   [--migrations DIR] [--database-url-env NAME] [--dir DIR] [--force]

Makes this folder a Rewind project: writes Pulumi.yaml (its program is the installed Rewind
package's), creates stack S in the project's own state (.rewind/state, git-ignored) and
selects it, writes its stack file stacks/Pulumi.S.yaml with every key explained, and the CI
workflow .github/workflows/rewind-gate.yml that gates pull requests with rewind gate. Secrets
are encrypted with $PULUMI_CONFIG_PASSPHRASE (set it first).

Options:
  --name SERVICE   rewind:app.name (default: the folder's name)
  --image REPO     rewind:app.image, without tag (default: 127.0.0.1:5000/SERVICE)
  --port N         rewind:app.port, the public port (default: 8000)
  --stack S        the first stack (default: dev)
  --migrations DIR rewind:database.migrations.dir, NNNN_name.up.sql files (default: migrations)
  --database-url-env NAME  the CI variable holding the database URL (default: DATABASE_URL)
  --dir DIR        the project folder (default: the current folder)
  --force          overwrite files rewind init wrote before
${COMMON_HELP}

Exit codes: 0 written; 2 bad input, or the folder is a Pulumi project already (see --force);
3 pulumi could not create the stack.`;

export const init: Command = {
  name: "init",
  summary: "make this folder (a team's repository) a Rewind project: Pulumi.yaml, a stack, CI",
  usage,
  async run(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const { common, values } = parseCommand(
      args,
      {
        name: { type: "string" },
        image: { type: "string" },
        port: { type: "string" },
        migrations: { type: "string" },
        "database-url-env": { type: "string" },
        dir: { type: "string" },
        force: { type: "boolean", default: false },
      },
      io.env,
    );
    if (common.help) {
      io.stdout(`${usage}\n`);
      return ExitCode.ok;
    }
    const dir = path.resolve(stringOption(values, "dir") ?? process.cwd());
    const project = teamProject(dir, values, common.stack ?? "dev");
    const files = {
      project: path.join(dir, "Pulumi.yaml"),
      stack: path.join(dir, "stacks", `Pulumi.${project.stack}.yaml`),
      workflow: path.join(dir, ".github", "workflows", "rewind-gate.yml"),
    };
    if (values.force !== true) {
      const existing = Object.values(files).filter((f) => fs.existsSync(f));
      if (existing.length > 0) {
        throw new UserError(
          `${existing.map((f) => path.relative(dir, f)).join(", ")} ` +
            `${existing.length === 1 ? "exists" : "exist"} already; ` +
            `rewind init --force overwrites what it wrote`,
        );
      }
    }
    if (!io.env.PULUMI_CONFIG_PASSPHRASE && !io.env.PULUMI_CONFIG_PASSPHRASE_FILE) {
      throw new UserError(
        "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) first: it encrypts " +
          "the stack's secrets, such as rewind:database.url",
      );
    }

    fs.mkdirSync(path.join(dir, STATE_DIR, "state"), { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(dir, project.migrationsDir), { recursive: true });
    fs.mkdirSync(path.dirname(files.stack), { recursive: true });
    fs.mkdirSync(path.dirname(files.workflow), { recursive: true });
    fs.writeFileSync(files.project, projectFile(project));
    appendGitignore(path.join(dir, ".gitignore"));

    // pulumi writes the passphrase's salt into the stack file; the template keeps that line.
    const environment = projectEnvironment(dir, io.env);
    const stacks = await pulumiCli(dir, ["stack", "ls", "--json"], undefined, environment);
    const known = (JSON.parse(stacks) as { name: string }[]).some(
      (s) => s.name.split("/").at(-1) === project.stack,
    );
    const previous = readSalt(files.stack);
    if (!known) {
      fs.rmSync(files.stack, { force: true });
    }
    const select = known ? ["stack", "select", project.stack] : ["stack", "init", project.stack];
    await pulumiCli(dir, select, undefined, environment);
    const salt = readSalt(files.stack) ?? previous;
    fs.writeFileSync(files.stack, stackFile(project, salt));
    fs.writeFileSync(files.workflow, gateWorkflow(project));

    if (!common.quiet) {
      io.stderr(
        [
          `Initialized Rewind project ${project.project} in ${dir}:`,
          ...Object.values(files).map((f) => `  ${path.relative(dir, f)}`),
          `  ${STATE_DIR}/  (state, backups and router files; git-ignored)`,
          ...(io.env.PULUMI_BACKEND_URL
            ? [
                `State: PULUMI_BACKEND_URL is set (${io.env.PULUMI_BACKEND_URL}); it takes ` +
                  `precedence over ${STATE_DIR}/state, so the stack lives there.`,
              ]
            : []),
          `Stack ${project.stack} is selected. First release:`,
          `  npx rewind release --set-secret rewind:database.url=postgres://user:password@host:5432/db \\`,
          `    --set rewind:app.version=1.0.0 --set rewind:database.revision=0001`,
          "",
        ].join("\n"),
      );
    }
    return ExitCode.ok;
  },
};

/** The options with their defaults, each checked with the config's own rule. */
function teamProject(dir: string, values: Record<string, unknown>, stack: string): TeamProject {
  const folder = path.basename(dir);
  const service =
    stringOption(values, "name") ??
    (folder
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^[^a-z]+|-+$/g, "") ||
      "app");
  if (!serviceNameSchema.safeParse(service).success) {
    throw new UsageError(
      `--name ${JSON.stringify(service)} is not a DNS label (lowercase letters, digits and -, ` +
        `starting with a letter)`,
    );
  }
  const port = Number(stringOption(values, "port") ?? "8000");
  if (!portSchema.safeParse(port).success) {
    throw new UsageError(`--port ${JSON.stringify(stringOption(values, "port"))}: 1024 to 65535`);
  }
  const migrationsDir = stringOption(values, "migrations") ?? "migrations";
  if (path.isAbsolute(migrationsDir) || migrationsDir.split(/[\\/]/).includes("..")) {
    throw new UsageError(`--migrations ${migrationsDir}: a folder inside the project`);
  }
  const databaseUrlEnv = stringOption(values, "database-url-env") ?? "DATABASE_URL";
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(databaseUrlEnv)) {
    throw new UsageError(`--database-url-env ${databaseUrlEnv}: an environment variable name`);
  }
  return {
    project: service,
    service,
    image: stringOption(values, "image") ?? `127.0.0.1:5000/${service}`,
    port,
    stack,
    migrationsDir,
    main: programPath(dir),
    databaseUrlEnv,
  };
}

/**
 * Rewind's program as Pulumi.yaml's `main` names it: through the project's node_modules when
 * Rewind is installed there (stable across machines), else this package's, relative.
 */
function programPath(dir: string): string {
  const installed = path.join(dir, "node_modules", "rewind", "dist", "index.js");
  if (fs.existsSync(installed)) {
    return "node_modules/rewind/dist/index.js";
  }
  return path.relative(dir, path.join(PACKAGE_ROOT, "dist", "index.js"));
}

/** The `encryptionsalt:` line of a stack file, if it has one. */
function readSalt(file: string): string | undefined {
  return fs.existsSync(file)
    ? /^encryptionsalt: .*$/m.exec(fs.readFileSync(file, "utf8"))?.[0]
    : undefined;
}

function appendGitignore(file: string): void {
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const have = new Set(text.split("\n").map((l) => l.trim()));
  const missing = GITIGNORE_LINES.filter((l) => !have.has(l));
  if (missing.length > 0) {
    const sep = text === "" || text.endsWith("\n") ? "" : "\n";
    fs.writeFileSync(
      file,
      `${text}${sep}# Rewind's local state (rewind init)\n${missing.join("\n")}\n`,
    );
  }
}
