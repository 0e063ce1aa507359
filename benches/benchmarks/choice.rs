//! The choice kernel: utilities of every option and one logit draw, per CCG decision, for option
//! counts from a small region (in-house, independent and 2 CSUs) to a crowded one (16 providers),
//! and the bare logit kernel of `csmarket bench`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use csmarket::engine::Supplier;
use csmarket::engine::choice::{pick, utility};
use csmarket::engine::kernel;
use csmarket::model::rng::{Purpose, stream, uniform};

/// Options: in-house, independent, then providers; (price ratio, quality, closeness term).
fn offers(providers: usize) -> Vec<(Supplier, f64, f64, f64)> {
    let mut v = vec![
        (Supplier::InHouse, 1.3, 0.6, 0.8),
        (Supplier::Independent, 1.15, 0.6, 0.0),
    ];
    for p in 0..providers {
        let x = p as f64 / providers.max(1) as f64;
        v.push((
            Supplier::Provider(p),
            0.9 + 0.3 * x,
            0.55 + 0.2 * x,
            0.8 * (1.0 - x),
        ));
    }
    v
}

fn decisions(c: &mut Criterion) {
    let mut rng = stream(1, 0, 0, 0, Purpose::Choice, 0);
    let draws: Vec<f64> = (0..1024).map(|_| uniform(&mut rng)).collect();
    let weights = [3.0, 3.0, 2.0, 1.0];
    let mut g = c.benchmark_group("choice");
    g.throughput(Throughput::Elements(1));
    for providers in [2usize, 6, 16] {
        let offers = offers(providers);
        let mut options: Vec<(Supplier, f64)> = Vec::with_capacity(offers.len());
        let mut i = 0usize;
        g.bench_with_input(
            BenchmarkId::new("decision", format!("{} options", offers.len())),
            &offers,
            |b, offers| {
                b.iter(|| {
                    i = (i + 1) & 1023;
                    options.clear();
                    options.extend(offers.iter().map(|&(s, price, quality, close)| {
                        (
                            s,
                            utility(weights, price, quality, close, s == Supplier::InHouse),
                        )
                    }));
                    pick(black_box(&mut options), draws[i])
                })
            },
        );
    }
    g.finish();
}

/// The bare logit kernel `csmarket bench` compares the engine with: 6 utilities, 6 `libm::exp`
/// and one ChaCha8 uniform per decision, nothing cached.
fn bare_kernel(c: &mut Criterion) {
    let mut g = c.benchmark_group("kernel");
    const DECISIONS: u64 = 1000;
    g.throughput(Throughput::Elements(DECISIONS));
    g.bench_function("bare logit, 6 options (1000 decisions)", |b| {
        b.iter(|| kernel::bare_kernel(black_box(DECISIONS)))
    });
    g.finish();
}

criterion_group!(benches, decisions, bare_kernel);
