use rand::{RngExt, SeedableRng};
fn main() {
    let mut r = rand::rngs::ChaCha8Rng::seed_from_u64(1);
    let x: f64 = r.random();
    println!("{x}");
}
