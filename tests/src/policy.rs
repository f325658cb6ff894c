//! Policy module components for tests: the examples in `policies/examples` and the
//! fixtures in `policies/fixtures`, built for `wasm32-wasip2` into `target/wasm`.

use std::path::PathBuf;

/// The workspace's `target/wasm` directory.
fn wasm_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/wasm")
}

/// The bytes of policy module `name`: an example (`read-only-prefix`,
/// `anonymous-ip-allowlist`, `cors-allowlist`, `public-if-tagged`) or a fixture
/// (`allow-all`, `deny-all`, `echo-context`, `echo-tags`, `infinite-loop`, `legacy-v0-1`, `legacy-v0-2`,
/// `memory-bomb`, `panic`, `wrong-world`, `malformed`).
pub fn policy_module(name: &str) -> Vec<u8> {
    let path = match name {
        "malformed" => return b"\0asm\x0d\0\x01\0 this is not a component".to_vec(),
        "read-only-prefix" | "anonymous-ip-allowlist" | "cors-allowlist" | "public-if-tagged" => {
            wasm_dir()
                .join("wasm32-wasip2/release")
                .join(format!("coffer_policy_{}.wasm", name.replace('-', "_")))
        }
        other => wasm_dir().join("fixtures").join(format!("{other}.wasm")),
    };
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "policy module {name} is not built ({}: {e}); scripts/test builds it",
            path.display()
        )
    })
}
