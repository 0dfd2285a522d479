// The HealthGate is what makes a bad release fail the update, and a failed update is what
// `rewind release` rolls back on: without it a broken version is deployed and reported green.
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { DockerDeployment } from "../components/dockerDeployment";
import { HealthGate } from "../components/healthGate";
import {
  Props,
  StackResource,
  StackViolation,
  UNKNOWN,
  readProps,
  show,
  stackResources,
} from "./resources";

/** Checks a HealthGate's inputs: it runs (`enabled` is true). An unknown value is not judged. */
export function checkHealthGate(gate: Props): string[] {
  const { enabled } = gate;
  if (enabled === UNKNOWN || enabled === true) {
    return [];
  }
  return [
    `The HealthGate does not run (enabled is ${show(enabled)}); set rewind:gate.enabled to ` +
      `true so a failing release fails the update.`,
  ];
}

/** Checks the stack: one that deploys the app with Docker has a HealthGate. */
export function checkHealthGatePresent(resources: readonly StackResource[]): StackViolation[] {
  const deployments = resources.filter((r) => r.type === DockerDeployment.__pulumiType);
  if (deployments.length === 0 || resources.some((r) => r.type === HealthGate.__pulumiType)) {
    return [];
  }
  const names = deployments.map((d) => show(d.name)).join(", ");
  return [
    {
      message:
        `This stack deploys ${names} without a HealthGate; set rewind:gate.enabled to true so ` +
        `a failing release fails the update.`,
    },
  ];
}

/**
 * `health-gate-required`. Advisory unless a stack's policy config makes it mandatory
 * (policy/config/prod.json): a development stack may run without probes, production may not.
 * A disabled gate is reported on the gate's inputs; a missing one by the stack check.
 */
export const healthGateRequired: ResourceValidationPolicy & StackValidationPolicy = {
  name: "health-gate-required",
  description:
    "A stack that deploys the app with Docker must have a HealthGate that runs, so a failing " +
    "release fails the update and can be rolled back.",
  enforcementLevel: "advisory",
  severity: "high",
  validateResource: (args, reportViolation) => {
    if (!args.isType(HealthGate)) {
      return;
    }
    for (const message of checkHealthGate(readProps(args.props, ["enabled"]))) {
      reportViolation(message);
    }
  },
  validateStack: (args, reportViolation) => {
    for (const v of checkHealthGatePresent(stackResources(args.resources, []))) {
      reportViolation(v.message, v.urn);
    }
  },
};
