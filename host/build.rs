//! Builds the WebAssembly components the host embeds or tests with:
//!
//! - the default policy module (`policies/acl`) for `wasm32-wasip2`, copied
//!   to `$OUT_DIR/default_policy.wasm` and embedded by `policy::engine` with
//!   `include_bytes!`, and the same built with its metadata rules (feature
//!   `metadata-rules`) into `$OUT_DIR/default_policy_rules.wasm`, embedded by
//!   `policy::registry` for buckets that attach `default` with a
//!   configuration. With `COFFER_DEFAULT_POLICY_WASM=/path/to.wasm` that file
//!   is embedded instead (as both, unless `COFFER_DEFAULT_POLICY_RULES_WASM`
//!   names the second) and nothing is built (for packagers, or builds without
//!   the wasm target).
//! - the test fixtures (`policies/fixtures`, a workspace of its own)
//!   into `<target>/wasm/fixtures/*.wasm`; the directory is passed to the
//!   crate as `COFFER_POLICY_FIXTURES_DIR` (see `policy::fixtures`). Skipped
//!   when `COFFER_SKIP_POLICY_FIXTURES` is set.
//!
//! Both are nested `cargo build --release --target wasm32-wasip2` runs with
//! their own target directory (`<target>/wasm`), so they never contend with
//! the outer build for its lock and target switches never invalidate the
//! host's cache.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const WASM_TARGET: &str = "wasm32-wasip2";

/// Fixture crates and the file name each is installed under.
const FIXTURES: [(&str, &str); 11] = [
    ("coffer_fixture_allow_all", "allow-all.wasm"),
    ("coffer_fixture_deny_all", "deny-all.wasm"),
    ("coffer_fixture_echo_context", "echo-context.wasm"),
    ("coffer_fixture_echo_tags", "echo-tags.wasm"),
    ("coffer_fixture_infinite_loop", "infinite-loop.wasm"),
    ("coffer_fixture_legacy_v0_1", "legacy-v0-1.wasm"),
    ("coffer_fixture_legacy_v0_2", "legacy-v0-2.wasm"),
    ("coffer_fixture_memory_bomb", "memory-bomb.wasm"),
    ("coffer_fixture_metadata_panic", "metadata-panic.wasm"),
    ("coffer_fixture_panic", "panic.wasm"),
    ("coffer_fixture_wrong_world", "wrong-world.wasm"),
];

/// A file that starts like a module but is not one.
const MALFORMED: &[u8] = b"\0asm\x0d\0\x01\0this is not a component";

fn main() -> Result<()> {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
    let root = manifest_dir
        .parent()
        .ok_or("host/ has no parent directory")?
        .to_path_buf();
    let out_dir = PathBuf::from(env_var("OUT_DIR")?);
    let wasm_dir = target_dir(&out_dir, &root).join("wasm");

    println!("cargo:rerun-if-env-changed=COFFER_DEFAULT_POLICY_WASM");
    println!("cargo:rerun-if-env-changed=COFFER_DEFAULT_POLICY_RULES_WASM");
    println!("cargo:rerun-if-env-changed=COFFER_SKIP_POLICY_FIXTURES");
    for input in [
        "Cargo.toml",
        "Cargo.lock",
        "guest-sdk/Cargo.toml",
        "guest-sdk/src",
        "guest-sdk/wit",
        "guest-sdk/wit-legacy",
        "policies/acl",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }

    // The default module twice: as every bucket without rules uses it, and with its
    // metadata rules (feature `metadata-rules`) for buckets that attach `default` with a
    // configuration. Built one after the other into the same directory (cargo keeps
    // both in `deps/`; only the uplifted file is replaced), each copied at once.
    let variants = [
        ("COFFER_DEFAULT_POLICY_WASM", "default_policy.wasm", None),
        (
            "COFFER_DEFAULT_POLICY_RULES_WASM",
            "default_policy_rules.wasm",
            Some("metadata-rules"),
        ),
    ];
    let given = env::var_os("COFFER_DEFAULT_POLICY_WASM");
    for (variable, file, feature) in variants {
        let target = out_dir.join(file);
        // A packager's prebuilt module stands for both unless the rules one is given.
        match env::var_os(variable).or_else(|| given.clone()) {
            Some(path) => {
                println!("cargo:rerun-if-changed={}", Path::new(&path).display());
                copy(Path::new(&path), &target)?;
            }
            None => {
                let mut args = vec!["-p", "coffer-policy-acl"];
                if let Some(feature) = feature {
                    args.extend(["--features", feature]);
                }
                cargo_build(&root, &wasm_dir, &args)?;
                let built = wasm_dir
                    .join(WASM_TARGET)
                    .join("release")
                    .join("coffer_policy_acl.wasm");
                copy(&built, &target)?;
            }
        }
    }

    let fixtures_dir = wasm_dir.join("fixtures");
    println!(
        "cargo:rustc-env=COFFER_POLICY_FIXTURES_DIR={}",
        fixtures_dir.display()
    );
    if env::var_os("COFFER_SKIP_POLICY_FIXTURES").is_none() {
        build_fixtures(&root, &wasm_dir, &fixtures_dir)?;
    }
    Ok(())
}

fn env_var(name: &str) -> Result<OsString> {
    env::var_os(name).ok_or_else(|| format!("{name} is not set").into())
}

/// The outer build's target directory: the nearest ancestor of `OUT_DIR`
/// tagged by cargo with `CACHEDIR.TAG`, else `<workspace>/target`.
fn target_dir(out_dir: &Path, root: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map_or_else(|| root.join("target"), Path::to_path_buf)
}

fn build_fixtures(root: &Path, wasm_dir: &Path, fixtures_dir: &Path) -> Result<()> {
    let fixtures = root.join("policies/fixtures");
    for input in [
        "Cargo.toml",
        "Cargo.lock",
        "allow-all",
        "deny-all",
        "echo-context",
        "echo-tags",
        "infinite-loop",
        "legacy-v0-1",
        "legacy-v0-2",
        "memory-bomb",
        "metadata-panic",
        "panic",
        "wrong-world",
    ] {
        println!("cargo:rerun-if-changed={}", fixtures.join(input).display());
    }
    let manifest = fixtures.join("Cargo.toml");
    let manifest = manifest.to_str().ok_or("non-UTF-8 path")?;
    cargo_build(
        &fixtures,
        wasm_dir,
        &["--manifest-path", manifest, "--workspace"],
    )?;
    fs::create_dir_all(fixtures_dir)?;
    for (krate, file) in FIXTURES {
        let built = wasm_dir
            .join(WASM_TARGET)
            .join("release")
            .join(format!("{krate}.wasm"));
        copy(&built, &fixtures_dir.join(file))?;
    }
    fs::write(fixtures_dir.join("malformed.wasm"), MALFORMED)?;
    Ok(())
}

/// `cargo build --release --target wasm32-wasip2 --target-dir <wasm_dir>`
/// plus `args`, run in `dir`.
///
/// The environment cargo gives build scripts describes the *outer* build:
/// `CARGO_ENCODED_RUSTFLAGS` (host flags), `RUSTC_WORKSPACE_WRAPPER` (clippy
/// under `cargo clippy`, which would lint the guest and flip its
/// fingerprints), `CARGO_PKG_*`, `CARGO_CFG_*` and so on. Those are removed;
/// what configures cargo itself (home, network, registries, the jobserver)
/// is kept. The release profile is set here so the components are the same
/// whatever the outer profile: optimised, LTO, no debug info (the name
/// section stays, for trap backtraces).
fn cargo_build(dir: &Path, wasm_dir: &Path, args: &[&str]) -> Result<()> {
    const KEEP: [&str; 7] = [
        "CARGO_HOME",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
        "CARGO_MAKEFLAGS",
        "CARGO_TERM_",
    ];
    const DROP: [&str; 6] = [
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CLIPPY_ARGS",
        "CLIPPY_CONF_DIR",
        "CARGO_TARGET_DIR",
    ];
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(dir)
        .args([
            "build",
            "--release",
            "--target",
            WASM_TARGET,
            "--target-dir",
        ])
        .arg(wasm_dir)
        .args(args)
        .stdout(Stdio::null());
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let outer = (key.starts_with("CARGO_") && !KEEP.iter().any(|k| key.starts_with(k)))
            || key.starts_with("__CARGO")
            || DROP.contains(&key);
        if outer {
            cmd.env_remove(key);
        }
    }
    cmd.env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3")
        .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run cargo for the policy modules: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building policy modules for {WASM_TARGET} failed ({status}); \
             is the target installed (`rustup target add {WASM_TARGET}`, scripts/setup does it)? \
             Or set COFFER_DEFAULT_POLICY_WASM to a prebuilt default module"
        )
        .into());
    }
    Ok(())
}

/// Copies `from` to `to` through a temporary file renamed into place: never writes into
/// the existing file, which may be a hard link shared with another build tree (a copied
/// target directory) or a file a running test is reading.
fn copy(from: &Path, to: &Path) -> Result<()> {
    let fail = |e: std::io::Error| -> Box<dyn std::error::Error> {
        format!("cannot copy {} to {}: {e}", from.display(), to.display()).into()
    };
    let mut tmp = to.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::copy(from, &tmp).map_err(fail)?;
    fs::rename(&tmp, to).map_err(fail)
}
