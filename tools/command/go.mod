// Pins the command provider (pulumi-resource-command). Its provider module has
// no tags of its own, so it is required by the commit of the v1.2.1 release.
module rewind.local/tools/command

go 1.25.11
