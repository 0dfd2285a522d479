// Command stamp-schema writes the provider's embedded files from the module's
// cmd/pulumi-resource-kubernetes folder, as upstream's generate.go does:
//
//	stamp-schema <module cmd dir> <out dir> <version>
//
// The schema gets the version the plugin is built with; both files are compacted.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: stamp-schema <module cmd dir> <out dir> <version>")
		os.Exit(2)
	}
	src, out, version := os.Args[1], os.Args[2], os.Args[3]
	if err := stamp(src, out, version); err != nil {
		fmt.Fprintln(os.Stderr, "stamp-schema:", err)
		os.Exit(1)
	}
}

func stamp(src, out, version string) error {
	var schema map[string]json.RawMessage
	if err := readJSON(filepath.Join(src, "schema.json"), &schema); err != nil {
		return err
	}
	v, err := json.Marshal(version)
	if err != nil {
		return err
	}
	schema["version"] = v
	if err := writeJSON(filepath.Join(out, "schema-embed.json"), schema); err != nil {
		return err
	}
	var mapping any
	if err := readJSON(filepath.Join(src, "terraform-mapping.json"), &mapping); err != nil {
		return err
	}
	return writeJSON(filepath.Join(out, "terraform-mapping-embed.json"), mapping)
}

func readJSON(path string, into any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
