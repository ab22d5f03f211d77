//! The `cascade` command; its commands live in the library, in `cascade::cli`.

fn main() -> std::process::ExitCode {
    cascade::cli::main()
}
