//! INSECURE: write a prepared `.ptau` from a public seed, for tests and benchmarks only (anyone
//! can forge proofs for keys made from it). `cargo run --release --example insecure_ptau --
//! POWER OUT.ptau [SEED]`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(power), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: insecure_ptau POWER OUT.ptau [SEED]");
        std::process::exit(2);
    };
    let power: u32 = power.parse().expect("POWER: an integer");
    let seed: u64 = args.get(2).map(|s| s.parse().expect("SEED: an integer")).unwrap_or(1);
    let started = std::time::Instant::now();
    zkrollup::iden3::ptau::write_insecure_test_ptau(std::path::Path::new(out), power, seed).expect("written");
    eprintln!("INSECURE ptau of power {power} (seed {seed}) written to {out} in {:.1} s", started.elapsed().as_secs_f64());
}
