//! `kprod`: console producer, perf tool and record-batch dump.

fn main() {
    eprintln!("kprod: no commands yet");
    std::process::exit(2);
}
