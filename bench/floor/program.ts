// The engine floor's program (bench/floor/Pulumi.yaml): no resources, one stack output. What a
// no-change `pulumi up` of it costs is the CLI, the state, the language host and the SDK's own
// start and finish, with nothing of Rewind's.
export const floor = "empty";
