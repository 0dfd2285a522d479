// Pulumi's mocks for the unit tests of Rewind's resources: every registration is recorded, a
// registration of a type not listed or any call fails (mockStates.ts holds the answers). Call
// `recordingMocks` before importing the component (a static import would be hoisted above it), as
// the SDK requires.
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";

export interface Registration {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

/** What the mock provider answers for a resource of one type, from its inputs. */
export type MockState = (inputs: Record<string, unknown>) => {
  /** undefined for a component resource. */
  id: string | undefined;
  state: Record<string, unknown>;
};

/** Sets the mocks (project `rewind`, stack `unit`); returns the list registrations go into. */
export function recordingMocks(states: Record<string, MockState>): Registration[] {
  const registrations: Registration[] = [];
  void pulumi.runtime.setMocks(
    {
      newResource(args) {
        registrations.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state = states[args.type];
        if (state === undefined) {
          throw new Error(`unexpected registration of ${args.type} ${args.name}`);
        }
        return state(args.inputs);
      },
      call(args) {
        throw new Error(`unexpected call of ${args.token}`);
      },
    },
    "rewind",
    "unit",
    false,
  );
  return registrations;
}

export function value<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** A secret as the engine receives it. */
export function secret(v: unknown): Record<string, unknown> {
  return { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value: v };
}

/** A resource's registered inputs, checked free of serialized provider code (typed resources). */
export function typedInputs(registration: Registration): Record<string, unknown> {
  assert.ok(!("__provider" in registration.inputs), `${registration.name}: no serialized provider`);
  return registration.inputs;
}

/** The options a resource was constructed with, as its transformation saw them. */
export function recordOptions(into: Map<string, pulumi.CustomResourceOptions>) {
  return {
    transformations: [
      (args: pulumi.ResourceTransformationArgs) => {
        into.set(args.name, args.opts as pulumi.CustomResourceOptions);
        return undefined;
      },
    ],
  };
}
