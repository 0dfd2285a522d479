// js-yaml (a dependency of @pulumi/pulumi) ships no types; the one function Rewind uses.
declare module "js-yaml" {
  /** Parses one YAML (or JSON) document. */
  export function load(text: string): unknown;
}
