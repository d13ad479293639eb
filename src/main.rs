//! `vigil`: see `vigil --help`.

fn main() -> std::process::ExitCode {
    vigil::cli::main()
}
