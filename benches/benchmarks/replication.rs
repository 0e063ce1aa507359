//! One replication of each configuration of the built-in scenario.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group};
use csmarket::engine;

fn one_replication(c: &mut Criterion) {
    let s = super::builtin();
    let mut g = c.benchmark_group("replication");
    g.throughput(Throughput::Elements(1));
    for name in s.configuration_names() {
        let m = super::market(&s, &name);
        let mut r = 0u64;
        g.bench_function(name.as_str(), |b| {
            b.iter(|| {
                // A new replication each time: the same draws would flatter the caches.
                r += 1;
                engine::simulate(&m, black_box(r))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, one_replication);
