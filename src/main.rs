//! The `drover` binary: the command line in `drover::cli`.

fn main() -> std::process::ExitCode {
    drover::cli::main()
}
