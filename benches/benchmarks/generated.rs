//! One replication of generated markets of England's size and 10, 100 and 1000 times it (211 to
//! 211,000 CCGs over England's 25 local CSUs in 4 regions), one thread. Throughput is in CCGs, so
//! the report's elements per second should stay flat if the cost per CCG does not grow.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use csmarket::engine;
use csmarket::generate::{MarketSize, generate};

fn generated(c: &mut Criterion) {
    let mut g = c.benchmark_group("generated");
    g.sample_size(10);
    for scale in [1u32, 10, 100, 1000] {
        let size = MarketSize {
            ccgs: 211 * scale,
            providers: 25,
            regions: 4,
            seed: 2012,
        };
        let (_, s) = generate(&size, "generated.toml").expect("generated scenario");
        let m = super::market(&s, "collaboratives");
        g.throughput(Throughput::Elements(u64::from(size.ccgs)));
        let mut r = 0u64;
        g.bench_function(
            BenchmarkId::new(
                "replication",
                format!("{scale}x England ({} CCGs)", size.ccgs),
            ),
            |b| {
                b.iter(|| {
                    r += 1;
                    engine::simulate(&m, black_box(r))
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, generated);
