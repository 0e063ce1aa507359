//! Criterion benchmarks of csmarket: `cargo bench` (or `cargo bench -- GROUP` for one group).
//! Each group lives in `benchmarks/`; figures measured are recorded in `docs/performance.md`.

use criterion::criterion_main;

mod benchmarks;

criterion_main! {
    benchmarks::replication::benches,
    benchmarks::choice::benches,
    benchmarks::run::benches,
    benchmarks::generated::benches,
}
