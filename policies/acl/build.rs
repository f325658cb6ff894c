//! Link settings of the default module's component.

fn main() {
    // A 64 KiB shadow stack instead of Rust's 1 MiB default: the ACL decision
    // is shallow, and with `--stack-first` every page a decision touches
    // (stack top, static data, the SDK's allocation arena) then lies in the
    // first few hundred KiB of linear memory, which the host resets cheaply.
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=65536");
    }
}
