#!/usr/bin/env bash
# Builds the example policy modules as WebAssembly components (wasm32-wasip2)
# into target/wasm/wasm32-wasip2/release/*.wasm, like policies/build.sh does
# for the default module (same target dir, so the SDK is compiled once).
set -euo pipefail
cd "$(dirname "$0")/../.."
rustup target add wasm32-wasip2 >/dev/null 2>&1 || rustup target add wasm32-wasip2
# Release without debug info: the component is loaded, hashed and compiled
# by the host; line tables would only make it bigger.
CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=true \
  cargo build \
    -p coffer-policy-read-only-prefix \
    -p coffer-policy-anonymous-ip-allowlist \
    --target wasm32-wasip2 --release --target-dir target/wasm
ls -l \
  target/wasm/wasm32-wasip2/release/coffer_policy_read_only_prefix.wasm \
  target/wasm/wasm32-wasip2/release/coffer_policy_anonymous_ip_allowlist.wasm
