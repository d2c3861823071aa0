//! The `nodectl` binary: all logic lives in the library.

fn main() {
    std::process::exit(nodectl::run(std::env::args_os()));
}
