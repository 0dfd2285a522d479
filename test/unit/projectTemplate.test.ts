// The files `rewind init` writes (domain/projectTemplate.ts, issue 11).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  appSchema,
  backupSchema,
  databaseSchema,
  gateSchema,
  healthSchema,
  restoreSchema,
  serviceSchema,
} from "../../domain/config";
import { TeamProject, gateWorkflow, projectFile, stackFile } from "../../domain/projectTemplate";

const shop: TeamProject = {
  project: "shop",
  service: "shop",
  image: "registry.example.com/shop",
  port: 8100,
  stack: "prod",
  migrationsDir: "db/migrations",
  main: "node_modules/rewind/dist/index.js",
  databaseUrlEnv: "SHOP_DATABASE_URL",
};

void describe("rewind init's files", () => {
  test("Pulumi.yaml runs the installed program, keeps stacks in stacks/ and state here", () => {
    const text = projectFile(shop);
    assert.match(text, /^name: shop$/m);
    assert.match(text, /^main: node_modules\/rewind\/dist\/index\.js$/m);
    assert.match(text, /^stackConfigDir: stacks$/m);
    assert.match(text, /^backend:\n {2}url: file:\/\/\.\/\.rewind\/state$/m);
    assert.match(text, /^ {4}typescript: false$/m);
  });

  test("the stack file names every key of the config, with a comment above it", () => {
    const text = stackFile(shop, "encryptionsalt: v1:abc");
    assert.match(text, /^encryptionsalt: v1:abc\nconfig:$/m);
    const keys = [
      appSchema.shape,
      healthSchema.shape,
      serviceSchema.shape,
      databaseSchema.shape,
      backupSchema.shape,
      backupSchema.shape.retain.unwrap().shape,
      restoreSchema.shape,
      gateSchema.shape,
    ].flatMap((shape) => Object.keys(shape));
    for (const key of new Set([...keys, "kind", "path", "query", "minRows", "expectStatus"])) {
      assert.match(text, new RegExp(`^ *(#\\s*)?(- )?${key}:`, "m"), `the stack file names ${key}`);
    }
    // Each set key has a comment right above it (or is inside a block that has one).
    for (const line of [
      "    name: shop",
      "    image: registry.example.com/shop",
      "    port: 8100",
    ]) {
      const at = text.split("\n").indexOf(line);
      assert.ok(at > 0 && text.split("\n")[at - 1].trim().startsWith("#"), line);
    }
    assert.ok(text.includes("      dir: db/migrations\n"));
    assert.ok(text.includes("rewind gate --database-url-env SHOP_DATABASE_URL"));
    assert.ok(!/postgres:\/\/[^ ]*:[^ ]*@(?!host)/.test(text), "no real URL in the template");
  });

  test("the workflow gates each stack with the URL from the repository's secrets", () => {
    const text = gateWorkflow(shop);
    assert.ok(text.includes('      - "db/migrations/**"\n'), text);
    assert.ok(text.includes("        stack: [prod]\n"), text);
    assert.ok(text.includes("      SHOP_DATABASE_URL: ${{ secrets.SHOP_DATABASE_URL }}\n"), text);
    assert.ok(
      text.includes(
        "        run: npx rewind gate --stack ${{ matrix.stack }} --database-url-env SHOP_DATABASE_URL\n",
      ),
      text,
    );
  });
});
