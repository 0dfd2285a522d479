// Rewind's policy pack: the safe order of a release made mandatory. Assembly only; each rule
// lives in its own file with its pure checks. Run: `pulumi preview --policy-pack policy`, with
// `--policy-pack-config policy/config/prod.json` for a production stack (policy/README.md).
import { PolicyPack } from "@pulumi/policy";
import { backupRetentionMinimum } from "./backupRetentionMinimum";
import { healthGateRequired } from "./healthGateRequired";
import { imagesPinned } from "./imagesPinned";
import { kubernetesDeploymentsSafe } from "./kubernetesDeploymentsSafe";
import { irreversibleDowngradeRequiresRestore } from "./irreversibleDowngradeRequiresRestore";
import { migrationRequiresBackup } from "./migrationRequiresBackup";
import { restoreRequiresVerifiedSnapshot } from "./restoreRequiresVerifiedSnapshot";

// In the order a release meets them.
const policies = [
  imagesPinned,
  kubernetesDeploymentsSafe,
  backupRetentionMinimum,
  migrationRequiresBackup,
  irreversibleDowngradeRequiresRestore,
  restoreRequiresVerifiedSnapshot,
  healthGateRequired,
];

new PolicyPack("rewind", { policies });
