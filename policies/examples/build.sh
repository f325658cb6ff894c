#!/usr/bin/env bash
# Builds the example policy modules as WebAssembly components (wasm32-wasip2)
# into target/wasm/wasm32-wasip2/release/*.wasm. policies/build.sh builds
# them together with the default module and the test fixtures, with the same
# profile as host/build.rs (so all share one build cache).
set -euo pipefail
exec "$(dirname "$0")/../build.sh"
