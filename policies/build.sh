#!/usr/bin/env bash
# Builds the default policy module and the test fixtures as WebAssembly
# components (wasm32-wasip2), exactly as host/build.rs does when it builds
# coffer (which embeds the default module):
#   target/wasm/wasm32-wasip2/release/coffer_policy_acl.wasm
#   target/wasm/fixtures/*.wasm   (see host/src/policy/fixtures.rs)
# A convenience only: `cargo build` does all of this by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null 2>&1 || rustup target add wasm32-wasip2
# The same profile as host/build.rs, so both share one build cache: optimised,
# LTO, no debug info (the name section stays, for trap backtraces).
export CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_LTO=true \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_OPT_LEVEL=3 \
  CARGO_PROFILE_RELEASE_STRIP=debuginfo
target=$PWD/target/wasm
cargo build -p coffer-policy-acl --target wasm32-wasip2 --release --target-dir "$target"
cargo build --manifest-path policies/fixtures/Cargo.toml --workspace \
  --target wasm32-wasip2 --release --target-dir "$target"
mkdir -p "$target/fixtures"
for f in allow-all deny-all infinite-loop memory-bomb panic wrong-world; do
  cp "$target/wasm32-wasip2/release/coffer_fixture_${f//-/_}.wasm" "$target/fixtures/$f.wasm"
done
printf '\0asm\r\0\1\0this is not a component' >"$target/fixtures/malformed.wasm"
ls -l "$target/wasm32-wasip2/release/coffer_policy_acl.wasm" "$target/fixtures"
