//! The `coffer` binary: `serve`, `admin` and `bench`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
