// The pod sandbox ("pause") image's one binary, built static and imported into the
// cluster's containerd by scripts/cluster (nothing is pulled from the internet).
module rewind.local/tools/kubernetes/pause

go 1.26.0
