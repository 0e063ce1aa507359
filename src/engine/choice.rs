//! Choice (MODEL.md section 4): how a CCG picks a supplier for a service. The logit itself
//! (`utility`, `pick`) is kept free of state so it can be tested on its own; a CCG's options, the
//! in-house price and closeness `L(o, c)` are read from the replication.

use crate::scenario::schema::ProviderKind;

use super::state::{Replication, Supplier};

/// Systematic utility of an option, with weights `[price, quality, locality, inertia]`:
/// `-bp (price_ratio - 1) + bq quality + bl closeness_term + bi [current]`, where
/// `closeness_term` is the service's locality times the option's closeness.
pub fn utility(
    weights: [f64; 4],
    price_ratio: f64,
    quality: f64,
    closeness_term: f64,
    is_current: bool,
) -> f64 {
    let [bp, bq, bl, bi] = weights;
    -bp * (price_ratio - 1.0)
        + bq * quality
        + bl * closeness_term
        + if is_current { bi } else { 0.0 }
}

/// Multinomial-logit probabilities of utilities (numerically stable softmax, portable `libm::exp`).
pub fn probabilities(utilities: &[f64]) -> Vec<f64> {
    let max = utilities.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = utilities.iter().map(|u| libm::exp(u - max)).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

/// Picks an option with logit probabilities by inverting the cumulative distribution at `u` in [0, 1).
/// The options' utilities are overwritten with their unnormalised weights.
pub fn pick(options: &mut [(Supplier, f64)], u: f64) -> Supplier {
    let max = options
        .iter()
        .map(|o| o.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for o in options.iter_mut() {
        o.1 = libm::exp(o.1 - max);
        sum += o.1;
    }
    let mut target = u * sum;
    for o in options.iter() {
        if target < o.1 {
            return o.0;
        }
        target -= o.1;
    }
    options.last().map_or(Supplier::InHouse, |o| o.0)
}

impl Replication<'_> {
    /// The in-house price per unit for a CCG: small CCGs find in-house dear.
    pub fn in_house_price(&self, c: usize, s: usize) -> f64 {
        let sv = &self.m.services[s];
        sv.in_house_unit + sv.in_house_fixed / self.volume[c * self.ns() + s].max(1.0)
    }

    /// Closeness `L(o, c)` of a provider to a CCG.
    fn closeness(&self, pi: usize, c: usize) -> f64 {
        let m = self.m;
        let l = &m.closeness;
        let p = &m.providers[pi];
        let host = self.hosts[c];
        let same_region = p.region == Some(m.ccgs[c].region);
        match p.kind {
            ProviderKind::National => l.other,
            ProviderKind::Local if host == Some(pi) => l.host,
            ProviderKind::Local if same_region => l.same_region_local,
            ProviderKind::Collaborative
                if host.is_some_and(|h| self.providers[pi].members.contains(&h)) =>
            {
                l.member_collaborative
            }
            ProviderKind::Collaborative if same_region => l.region_collaborative,
            _ => l.other,
        }
    }

    /// A CCG's logit choice for a service, drawn by inverting the choice probabilities with `u`.
    pub(super) fn choose(
        &self,
        c: usize,
        s: usize,
        current: Supplier,
        u: f64,
        options: &mut Vec<(Supplier, f64)>,
    ) -> Supplier {
        let m = self.m;
        let sv = &m.services[s];
        let [bp, bq, bl, bi] = self.prefs[c];
        options.clear();
        let utility = |price: f64, quality: f64, close: f64, is_current: bool| {
            utility(
                [bp, bq, bl, bi],
                price / sv.reference_price,
                quality,
                sv.locality * close,
                is_current,
            )
        };
        options.push((
            Supplier::InHouse,
            utility(
                self.in_house_price(c, s),
                sv.in_house_quality,
                m.closeness.in_house,
                current == Supplier::InHouse,
            ),
        ));
        options.push((
            Supplier::Independent,
            utility(
                sv.independent_price,
                sv.independent_quality,
                m.closeness.other,
                current == Supplier::Independent,
            ),
        ));
        for &pi in &m.candidates[m.ccgs[c].region][s] {
            let st = &self.providers[pi];
            if st.is_open() && st.lines[s].active {
                let line = &st.lines[s];
                let sup = Supplier::Provider(pi);
                options.push((
                    sup,
                    utility(
                        line.price,
                        line.eff_quality,
                        self.closeness(pi, c),
                        current == sup,
                    ),
                ));
            }
        }
        pick(options, u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rng::{Purpose, stream, uniform};

    #[test]
    fn logit_probabilities_sum_to_one() {
        for us in [
            vec![0.0],
            vec![1.0, 2.0, 3.0],
            vec![-500.0, 500.0, 0.0, 1e-9],
        ] {
            let p = probabilities(&us);
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{p:?}");
            assert!(p.iter().all(|x| (0.0..=1.0).contains(x)));
        }
    }

    #[test]
    fn two_option_choice_matches_analytic_logit_over_many_draws() {
        let (ua, ub): (f64, f64) = (0.7, -0.3);
        let expected = 1.0 / (1.0 + (ub - ua).exp());
        let n = 200_000;
        let mut rng = stream(11, 0, 0, 0, Purpose::Choice, 0);
        let mut hits = 0;
        for _ in 0..n {
            let mut o = [(Supplier::InHouse, ua), (Supplier::Independent, ub)];
            if pick(&mut o, uniform(&mut rng)) == Supplier::InHouse {
                hits += 1;
            }
        }
        let share = f64::from(hits) / f64::from(n);
        // Four standard errors.
        let se = (expected * (1.0 - expected) / f64::from(n)).sqrt();
        assert!(
            (share - expected).abs() < 4.0 * se,
            "share {share}, expected {expected}"
        );
    }

    #[test]
    fn utility_rewards_quality_and_closeness_and_penalises_price() {
        let w = [3.0, 2.0, 1.5, 1.0];
        let base = utility(w, 1.0, 0.5, 0.5, false);
        assert!(utility(w, 1.2, 0.5, 0.5, false) < base);
        assert!(utility(w, 1.0, 0.7, 0.5, false) > base);
        assert!(utility(w, 1.0, 0.5, 0.9, false) > base);
        assert_eq!(utility(w, 1.0, 0.5, 0.5, true), base + 1.0);
    }
}
