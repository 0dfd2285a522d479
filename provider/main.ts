// Entry point of the `pulumi-resource-rewind` plugin (scripts/launchers/ starts it with node).
// Its version is the package's, so a stack records which Rewind served it.
import * as provider from "@pulumi/pulumi/provider";
import { RewindProvider } from "./plugin";

// dist/provider/main.js → the package root's package.json.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- read once, at start
const { version } = require("../../package.json") as { version: string };

void provider.main(new RewindProvider(version), process.argv.slice(2));
