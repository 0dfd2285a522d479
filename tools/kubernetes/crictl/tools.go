//go:build tools

// Package tools records the binary this module builds (see scripts/kubernetes-toolchain).
package tools

import (
	_ "sigs.k8s.io/cri-tools/cmd/crictl"
)
