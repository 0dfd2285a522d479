// The files `rewind init` writes into a team's repository: Pulumi.yaml (the project, whose
// program is the installed Rewind package's), a first stack file with every key explained, and
// the CI workflow that gates each pull request on a preview. Pure text; cli/init.ts writes it.

/** What `rewind init` was told, with its defaults filled in. */
export interface TeamProject {
  /** The Pulumi project's name (the folder's, by default); stacks are `<project>/<stack>`. */
  readonly project: string;
  /** `rewind:app.name`: the service; a DNS label. */
  readonly service: string;
  /** `rewind:app.image`: the repository, without tag or digest. */
  readonly image: string;
  /** `rewind:app.port`: the public port the front door (HAProxy) owns. */
  readonly port: number;
  /** The first stack's name. */
  readonly stack: string;
  /** `rewind:database.migrations.dir`, relative to the project: `NNNN_name.up.sql` files. */
  readonly migrationsDir: string;
  /** Rewind's program, relative to the project (`node_modules/rewind/dist/index.js`). */
  readonly main: string;
  /** The CI variable holding the stack's database URL (`--database-url-env`). */
  readonly databaseUrlEnv: string;
}

/** Where Rewind keeps a project's local state, relative to the project (git-ignored). */
export const STATE_DIR = ".rewind";

/** `Pulumi.yaml`. */
export function projectFile(p: TeamProject): string {
  return `# Written by \`rewind init\`: this folder is a Pulumi project whose program is the installed
# Rewind package's. Commit it with stacks/ and the CI workflow; never edit main by hand.
name: ${p.project}
description: ${p.service}, released and rolled back with Rewind.
runtime:
  name: nodejs
  options:
    # Rewind's program is compiled JavaScript: nothing in this folder is compiled.
    typescript: false
main: ${p.main}
stackConfigDir: stacks
# Stack state (every update and the config it ran with) in this folder, git-ignored. A team
# that shares state (CI, several operators) sets PULUMI_BACKEND_URL, which takes precedence.
backend:
  url: file://./${STATE_DIR}/state
`;
}

/**
 * `stacks/Pulumi.<stack>.yaml`: required keys set, every optional one commented out with its
 * default, so the file documents the whole config.
 * @param encryptionSalt The line `pulumi stack init` wrote for the passphrase provider, kept.
 */
export function stackFile(p: TeamProject, encryptionSalt?: string): string {
  const salt = encryptionSalt === undefined ? "" : `${encryptionSalt}\n`;
  return `# Stack ${p.stack} of ${p.service}: the pins Rewind releases and rolls back. A release is a
# change to this file (rewind release --set …), a rollback pins an earlier update's values
# (rewind rollback --to-update N | --to-version V | --to-time T), and CI gates each change with
# a policy-checked preview (rewind gate). Every key is explained; commented-out keys show their
# default.
#
# Not written here: rewind:database.url, a secret. Set it once, encrypted:
#   npx rewind release --set-secret rewind:database.url=postgres://user:password@host:5432/db …
# CI reads it from the environment instead: rewind gate --database-url-env ${p.databaseUrlEnv}
${salt}config:
  rewind:app:
    # The service's name: names its containers; a DNS label.
    name: ${p.service}
    # The image repository, without tag or digest; the front door's HAProxy image is taken from the
    # same registry (<registry>/rewind-haproxy, pushed there by scripts/images).
    image: ${p.image}
    # The public port, owned by the service's HAProxy, which forwards to the ready replicas.
    port: ${p.port}
    # The pinned version: an immutable tag or a sha256 digest ("latest" is refused). The first
    # release sets it: rewind release --set rewind:app.version=1.0.0
    # version: 1.0.0
    # Containers; each gets its own loopback port, passed as PORT.
    # replicas: 1
    # How long an old replica keeps its in-flight requests after the switch (0-3600); it stops
    # earlier once nothing is in flight.
    # drainSeconds: 30
    # Credentials for the image's registry (digests and pulls); the password only as a secret:
    #   pulumi config set --secret --path rewind:app.registry.password <password>
    # registry:
    #   username: deploy
    # Pulumi's protect on the deployment: pulumi destroy fails instead of stopping production.
    # protect: false
    # health:
    #   live: /healthz/live        # liveness path
    #   ready: /healthz/ready      # traffic switches only once this answers 2xx
    #   startup: /healthz/startup  # probed once first, when set
    #   timeoutSeconds: 60         # how long a new version may take to become ready
    # Environment of every container (values may be secrets: --set-secret).
    # env: {}
    # Further processes from the same image, each with its own public port, or none:
    # services:
    #   - name: api-admin
    #     command: [node, admin.js]
    #     port: 8001
    #   - name: worker
    #     command: [celery, -A, shop, worker]
    #     replicas: 1
    #     # A worker without HTTP has no port and no proxy; it is ready once up this long, or
    #     # when a command exits 0. Its old replicas get drainSeconds after SIGTERM.
    #     readiness: { upSeconds: 10 }   # or { command: [celery, inspect, ping] }
    # Volumes (under rewind:backup.volumesRoot) or host paths every process mounts; snapshots
    # hold exactly these, and a restore puts them back with the app stopped.
    # mounts:
    #   - { volume: sessions, target: /app/sessions }
    #   - { source: /srv/shop/uploads, target: /app/uploads, readOnly: false }
  rewind:database:
    # The PostgreSQL URL with its password: a secret, set with --set-secret (see above), which
    # stores it encrypted here as url: secure: …
    # url: postgres://user:password@host:5432/db
    migrations:
      # "sql": NNNN_name.up.sql / .down.sql files in dir (a step without a down file is
      # irreversible: rolling back across it restores a snapshot). "alembic": the migrations
      # live in the app image (dir, config, revisions: every id, oldest first).
      tool: sql
      dir: ${p.migrationsDir}
    # The pinned schema revision, "base" or NNNN. The first release sets it:
    #   rewind release --set rewind:database.revision=0001
    # revision: "0001"
    # How long a migration, backup or restore waits for another release's lock.
    # lockTimeoutSeconds: 60
  rewind:backup:
    # Where snapshots go; a relative path is the project's. Default: ${STATE_DIR}/backups here.
    # store:
    #   kind: fs
    #   path: ${STATE_DIR}/backups
    # A verified snapshot before every schema change (production policy requires it).
    # beforeMigration: true
    # Where volume:<name> items and rewind:app.mounts volumes live on the host.
    # volumesRoot: /var/lib/rewind/volumes
    # What a snapshot holds: "database", "volume:<name>", "path:<absolute path>".
    # include: [database]
    # Pruned when older than days, but the newest keepAtLeast and every snapshot a restore pin
    # names (the config's, recent updates') are kept.
    # retain:
    #   days: 30
    #   keepAtLeast: 5
    # When \`rewind backup\` runs besides the pre-migration snapshots: "hourly[ at :MM]",
    # "daily at HH:MM" or "weekly on Sun at HH:MM", UTC. rewind backup --print-timer prints
    # the systemd timer (and a cron line) that runs it.
    schedule: daily at 03:00
  rewind:restore:
    # A snapshot id to restore (rewind rollback --restore pins one); null for none.
    snapshot: null
  rewind:gate:
    # Checks after every change of the app; production policy requires the gate.
    enabled: true
    # HTTP requests that must answer expectStatus through the front door.
    # smoke:
    #   - path: /healthz/ready
    #     expectStatus: 200
    #     maxMs: 2000                # slower than this fails the gate
    # Dependencies that must accept a TCP connection, and commands run in the app's image
    # (exit 0 passes):
    # tcp:
    #   - { name: redis, host: 127.0.0.1, port: 6379 }
    # command:
    #   - { name: redis, command: [redis-cli, -h, 127.0.0.1, ping] }
    # SQL queries that must return at least minRows rows.
    # sql:
    #   - query: select 1
    #     minRows: 1
  # Where the app runs: "docker" (the Docker Engine of this host) or "kubernetes" (then a
  # rewind:kubernetes block gives the kubeconfig, a secret, and the namespace).
  rewind:target: docker
`;
}

/** The git-ignore lines for Rewind's local state and its lock beside a stack file it writes. */
export const GITIGNORE_LINES = [
  `/${STATE_DIR}/`,
  "/stacks/.Pulumi.*.yaml.rewind-lock",
  "node_modules/",
] as const;

/**
 * `.github/workflows/rewind-gate.yml`: every pull request that changes a stack or the
 * migrations runs a policy-checked preview of each stack; a mandatory violation fails it.
 */
export function gateWorkflow(p: TeamProject): string {
  return `# Written by \`rewind init\`. The policy gate on pull requests: \`rewind gate\` runs a real
# pulumi preview of the stack with Rewind's policy pack; a mandatory violation (a migration
# without a verified backup, an image that is not pinned, …) fails the check. The runner must
# reach the stack's database, Docker Engine, registry and backup store: a preview reads them.
name: rewind-gate
on:
  pull_request:
    paths:
      - "stacks/**"
      - "Pulumi.yaml"
      - "${p.migrationsDir}/**"
      - "package.json"
      - "package-lock.json"
jobs:
  gate:
    runs-on: [self-hosted, linux]
    strategy:
      fail-fast: false
      matrix:
        stack: [${p.stack}]
    env:
      # The team's shared state backend and the passphrase of the stacks' secrets.
      PULUMI_BACKEND_URL: \${{ vars.PULUMI_BACKEND_URL }}
      PULUMI_CONFIG_PASSPHRASE: \${{ secrets.PULUMI_CONFIG_PASSPHRASE }}
      # The stack's database URL, handed to the preview as a secret (--database-url-env).
      ${p.databaseUrlEnv}: \${{ secrets.${p.databaseUrlEnv} }}
    steps:
      - uses: actions/checkout@v4
      - run: npm ci
      - name: Policy gate
        run: npx rewind gate --stack \${{ matrix.stack }} --database-url-env ${p.databaseUrlEnv}
`;
}
