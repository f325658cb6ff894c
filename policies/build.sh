#!/usr/bin/env bash
# Builds the default policy module, the example modules and the test fixtures
# as WebAssembly components (wasm32-wasip2), the same way host/build.rs builds
# the default module and the fixtures when it builds coffer:
#   target/wasm/wasm32-wasip2/release/coffer_policy_acl.wasm (and _rules.wasm: with
#   its metadata rules)
#   target/wasm/wasm32-wasip2/release/coffer_policy_{read_only_prefix,anonymous_ip_allowlist,cors_allowlist,public_if_tagged}.wasm
#   target/wasm/fixtures/*.wasm   (see host/src/policy/fixtures.rs)
# The end-to-end tests load the examples and fixtures from there.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null 2>&1 || rustup target add wasm32-wasip2
# The same profile as host/build.rs, so both share one build cache: optimised,
# LTO, no debug info (the name section stays, for trap backtraces).
export CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_LTO=true \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_OPT_LEVEL=3 \
  CARGO_PROFILE_RELEASE_STRIP=debuginfo
target=$PWD/target/wasm
# The default module on its own: built together with the examples, it would get
# the SDK's `std` feature (features are unified within one build). With its
# metadata rules first, copied aside, then without (as host/build.rs embeds both).
cargo build -p coffer-policy-acl --features metadata-rules --target wasm32-wasip2 --release --target-dir "$target"
cp "$target/wasm32-wasip2/release/coffer_policy_acl.wasm" "$target/wasm32-wasip2/release/coffer_policy_acl_rules.wasm"
cargo build -p coffer-policy-acl --target wasm32-wasip2 --release --target-dir "$target"
cargo build -p coffer-policy-read-only-prefix -p coffer-policy-anonymous-ip-allowlist -p coffer-policy-cors-allowlist \
  -p coffer-policy-public-if-tagged --target wasm32-wasip2 --release --target-dir "$target"
cargo build --manifest-path policies/fixtures/Cargo.toml --workspace \
  --target wasm32-wasip2 --release --target-dir "$target"
mkdir -p "$target/fixtures"
for f in allow-all deny-all echo-context echo-tags infinite-loop legacy-v0-1 legacy-v0-2 memory-bomb metadata-panic panic wrong-world; do
  cp "$target/wasm32-wasip2/release/coffer_fixture_${f//-/_}.wasm" "$target/fixtures/$f.wasm"
done
printf '\0asm\r\0\1\0this is not a component' >"$target/fixtures/malformed.wasm"
ls -l "$target"/wasm32-wasip2/release/coffer_policy_*.wasm "$target/fixtures"
