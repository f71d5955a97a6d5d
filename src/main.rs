fn main() -> std::process::ExitCode {
    // Exit quietly when the reader of our output goes away (`drover ... | head`),
    // as command-line tools do, instead of failing on the next write.
    // SAFETY: called before any thread starts; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    drover::cli::main()
}
