//go:build tools

// Package tools records the binary this module builds (see scripts/bootstrap).
package tools

import _ "github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command"
