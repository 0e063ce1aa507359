//! A full run: one block of 1024 replications of the built-in scenario folded into a summary, on
//! one thread and on every core.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use csmarket::experiment::{BLOCK, summarise};

fn full_run(c: &mut Criterion) {
    let s = super::builtin();
    let name = s.configuration_names().last().cloned().unwrap_or_default();
    let m = super::market(&s, &name);
    let mut g = c.benchmark_group("run");
    g.sample_size(10);
    g.throughput(Throughput::Elements(BLOCK));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut threads = vec![1];
    if cores > 1 {
        threads.push(cores);
    }
    for t in threads {
        g.bench_with_input(
            BenchmarkId::new(format!("{name} x{BLOCK}"), format!("{t} threads")),
            &t,
            |b, &t| b.iter(|| summarise(&m, 0..BLOCK, t).expect("run")),
        );
    }
    g.finish();
}

criterion_group!(benches, full_run);
