// The pack as a whole, without the engine: every policy is named (kebab-case), described in full
// sentences and given an enforcement level, and the production config only names policies and
// settings that exist (the CLI silently accepts an unknown setting, so a typo there would quietly
// weaken production).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, test } from "node:test";
import { Policy, PolicyConfigSchema } from "@pulumi/policy";
import { backupRetentionMinimum } from "../../policy/backupRetentionMinimum";
import { healthGateRequired } from "../../policy/healthGateRequired";
import { imagesPinned } from "../../policy/imagesPinned";
import { kubernetesDeploymentsSafe } from "../../policy/kubernetesDeploymentsSafe";
import { irreversibleDowngradeRequiresRestore } from "../../policy/irreversibleDowngradeRequiresRestore";
import { migrationRequiresBackup } from "../../policy/migrationRequiresBackup";
import { restoreRequiresVerifiedSnapshot } from "../../policy/restoreRequiresVerifiedSnapshot";
import { PROJECT_ROOT } from "../../policy/resources";

const policies: (Policy & { configSchema?: PolicyConfigSchema })[] = [
  imagesPinned,
  kubernetesDeploymentsSafe,
  backupRetentionMinimum,
  migrationRequiresBackup,
  irreversibleDowngradeRequiresRestore,
  restoreRequiresVerifiedSnapshot,
  healthGateRequired,
];
const policyDir = join(PROJECT_ROOT, "policy");

describe("the policy pack", () => {
  test("policy/index.ts assembles every policy file", () => {
    const index = readFileSync(join(policyDir, "index.ts"), "utf8");
    for (const policy of policies) {
      assert.match(index, new RegExp(`^  ${camel(policy.name)},$`, "m"), policy.name);
    }
  });

  test("every policy has a kebab-case name, a full-sentence description and a level", () => {
    assert.equal(new Set(policies.map((p) => p.name)).size, policies.length);
    for (const p of policies) {
      assert.match(p.name, /^[a-z]+(-[a-z]+)+$/);
      assert.match(p.description, /^[A-Z][^]*\.$/, p.name);
      assert.ok(p.enforcementLevel === "mandatory" || p.enforcementLevel === "advisory", p.name);
    }
  });

  test("outside production the data rules are mandatory, the gate and retention advisory", () => {
    assert.deepEqual(Object.fromEntries(policies.map((p) => [p.name, p.enforcementLevel])), {
      "images-pinned": "mandatory",
      "kubernetes-deployments-safe": "mandatory",
      "backup-retention-minimum": "advisory",
      "migration-requires-backup": "mandatory",
      "irreversible-downgrade-requires-restore": "mandatory",
      "restore-requires-verified-snapshot": "mandatory",
      "health-gate-required": "advisory",
    });
  });

  test("the production config makes every policy mandatory and names only known settings", () => {
    const prod = JSON.parse(readFileSync(join(policyDir, "config", "prod.json"), "utf8")) as Record<
      string,
      unknown
    >;
    assert.equal(prod.all, "mandatory");
    for (const [name, value] of Object.entries(prod)) {
      if (name === "all") {
        continue;
      }
      const policy = policies.find((p) => p.name === name);
      assert.ok(policy, `prod.json names an unknown policy ${name}`);
      const known = Object.keys(policy.configSchema?.properties ?? {});
      for (const key of Object.keys(value as object)) {
        assert.ok(key === "enforcementLevel" || known.includes(key), `${name}.${key}`);
      }
    }
    assert.deepEqual(prod["images-pinned"], { requireDigest: true });
  });

  test("package.json points the engine at the compiled pack", () => {
    const pkg = JSON.parse(readFileSync(join(policyDir, "package.json"), "utf8")) as {
      main: string;
      version: string;
    };
    assert.equal(resolve(policyDir, pkg.main), join(PROJECT_ROOT, "dist", "policy", "index.js"));
    assert.ok(existsSync(resolve(policyDir, pkg.main)));
    assert.match(pkg.version, /^\d+\.\d+\.\d+$/);
  });
});

function camel(kebab: string): string {
  return kebab.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
