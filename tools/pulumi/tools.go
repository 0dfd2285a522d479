//go:build tools

// Package tools records the binaries this module builds (see scripts/bootstrap).
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
