# Source this file to use the project's toolchain and services:  . scripts/env.sh
# shellcheck shell=bash
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
export PATH=$REWIND_TOOLS/bin:$PATH
# The CLI must never reach the network: no update check, no plugin downloads.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_HOME=$REWIND_HOME/pulumi-home
# State lives in a file backend inside the work tree (git-ignored).
export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$REWIND_ROOT/.pulumi}
# Local use only: the passphrase that encrypts test and demo stacks' secrets.
# Production stacks set their own PULUMI_CONFIG_PASSPHRASE (or a KMS provider).
export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE-rewind-local-only}
if [ -f "$REWIND_HOME/services.env" ]; then
  # shellcheck disable=SC1091
  . "$REWIND_HOME/services.env"
fi
