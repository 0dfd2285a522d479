// Program of bench/growth/Pulumi.yaml: the stack's `rewind:app` (validated by the real schema),
// the app and each of its `services` one AppService from the same image and version.
import * as pulumi from "@pulumi/pulumi";
import { AppService } from "../../components/appService";
import { appSchema } from "../../components/config";

const parsed = appSchema.safeParse(new pulumi.Config("rewind").requireObject<unknown>("app"));
if (!parsed.success) {
  throw new Error(`rewind:app: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
}
const app = parsed.data;
const env = pulumi.secret(app.env);

const services = [
  { name: app.name, replicas: app.replicas, port: app.port },
  ...(app.services ?? []),
].map(
  (s) =>
    new AppService(s.name, {
      service: s.name,
      image: app.image,
      version: app.version,
      replicas: s.replicas,
      port: s.port,
      env,
      health: app.health,
    }),
);

export const urls = pulumi.all(services.map((s) => s.url));
