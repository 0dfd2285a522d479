// The inputs a Migration registers for the optional arguments it is not given: each one's
// documented @default (a Release with the sql tool keeps them too). The snapshot's fields are
// left out; each test sets them.
export const MIGRATION_DEFAULTS = {
  lockTimeoutSeconds: 60,
  image: "",
  commandUp: [],
  commandDown: [],
  revisions: [],
  env: {},
  dockerHost: "",
  alembicDir: "",
  alembicConfig: "",
  runner: "container" as const,
};
