//! Choice (MODEL.md sections 4 and 10): how a CCG picks a supplier for a service. The logit
//! itself (`utility`, `pick`, and the nested logit `pick_nested`) is kept free of state so it can
//! be tested on its own; a CCG's options, the in-house price, closeness `L(o, c)` and each option's
//! nest are read from the replication.

use crate::scenario::schema::ProviderKind;

use super::kernel;
use super::menu::{MenuOffer, Relation};
use super::state::{Replication, Supplier};

/// Options a choice keeps on the stack (in-house, independent and up to 30 providers); a region
/// with more takes the general path.
pub(super) const MENU_OPTIONS: usize = 32;

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

/// The four nests of section 10, in the order of [`crate::scenario::schema::Nests::lambdas`].
pub const NESTS: usize = 4;
/// Nest of the CCG's own team.
pub const NEST_IN_HOUSE: usize = 0;
/// Nest of the host CSU and the collaboratives it belongs to.
pub const NEST_HOST_NETWORK: usize = 1;
/// Nest of the other NHS providers.
pub const NEST_OTHER_NHS: usize = 2;
/// Nest of the independent sector.
pub const NEST_INDEPENDENT: usize = 3;

/// Per nest `n` with options: `(lambda_n I_n, max_n, S_n)` where `I_n = max_n + ln S_n` is the
/// nest's inclusive value and `S_n = sum exp(U / lambda_n - max_n)`; overflow-safe.
fn inclusive_values(
    utilities: impl Iterator<Item = (usize, f64)> + Clone,
    lambdas: [f64; NESTS],
) -> [Option<(f64, f64, f64)>; NESTS] {
    let mut max = [f64::NEG_INFINITY; NESTS];
    for (n, u) in utilities.clone() {
        max[n] = max[n].max(u / lambdas[n]);
    }
    let mut sum = [0.0; NESTS];
    for (n, u) in utilities {
        sum[n] += libm::exp(u / lambdas[n] - max[n]);
    }
    std::array::from_fn(|n| {
        (sum[n] > 0.0).then(|| (lambdas[n] * (max[n] + libm::log(sum[n])), max[n], sum[n]))
    })
}

/// Nested-logit probabilities (MODEL.md section 10) of options given as `(nest, utility)`:
/// `P(o) = exp(lambda_n I_n) / sum_m exp(lambda_m I_m) x exp(U(o) / lambda_n) / exp(I_n)`, with
/// `I_n = ln sum_{o in n} exp(U(o) / lambda_n)`; empty nests are left out.
pub fn nested_probabilities(options: &[(usize, f64)], lambdas: [f64; NESTS]) -> Vec<f64> {
    let iv = inclusive_values(options.iter().copied(), lambdas);
    let top = iv
        .iter()
        .flatten()
        .map(|x| x.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = iv.iter().flatten().map(|x| libm::exp(x.0 - top)).sum();
    options
        .iter()
        .map(|&(n, u)| match iv[n] {
            Some((li, max, sum)) => {
                libm::exp(li - top) / total * libm::exp(u / lambdas[n] - max) / sum
            }
            None => 0.0,
        })
        .collect()
}

/// Picks an option with nested-logit probabilities by inverting the cumulative distribution, in
/// option order, at `u` in [0, 1); `nest` gives each option's nest. The options' utilities are
/// overwritten with their unnormalised weights. One uniform per choice, as for the plain logit.
/// Kept out of line so the engine's plain-logit path compiles as it did before nests.
#[inline(never)]
pub fn pick_nested(
    options: &mut [(Supplier, f64)],
    nest: impl Fn(Supplier) -> usize,
    lambdas: [f64; NESTS],
    u: f64,
) -> Supplier {
    let iv = inclusive_values(options.iter().map(|o| (nest(o.0), o.1)), lambdas);
    let top = iv
        .iter()
        .flatten()
        .map(|x| x.0)
        .fold(f64::NEG_INFINITY, f64::max);
    // A nest's weight over its own sum, so each option's weight is its unnormalised probability.
    let factor: [f64; NESTS] =
        std::array::from_fn(|n| iv[n].map_or(0.0, |(li, _, sum)| libm::exp(li - top) / sum));
    let mut total = 0.0;
    for o in options.iter_mut() {
        let n = nest(o.0);
        let max = iv[n].map_or(0.0, |x| x.1);
        o.1 = factor[n] * libm::exp(o.1 / lambdas[n] - max);
        total += o.1;
    }
    let mut target = u * total;
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
        self.in_house_prices[c * self.ns() + s]
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

    /// A CCG's logit choice for a service, drawn by inverting the choice probabilities with `u`;
    /// nested (MODEL.md section 10) when `nests` holds dissimilarities, from [`Self::nesting`]
    /// (a batch of one: a round makes its nested choices in batches, `choose_nested_batch`).
    /// Both read the round's menu (see `Replication::refresh_menu`) and keep their utilities on
    /// the stack; the result is the same, bit for bit, as the general path below, which takes a
    /// region with more options than the stack holds.
    pub(super) fn choose(
        &self,
        c: usize,
        s: usize,
        current: Supplier,
        u: f64,
        options: &mut Vec<(Supplier, f64)>,
        nests: Option<[f64; NESTS]>,
    ) -> Supplier {
        if let Some(lambdas) = nests {
            return self.choose_nested(c, s, current, u, lambdas, options);
        }
        if let Some(pick) = self.choose_from_menu(c, s, current, u) {
            return pick;
        }
        self.general_options(c, s, current, options);
        pick(options, u)
    }

    /// The general path's options for a CCG and service, with their utilities: in-house, the
    /// independent sector, then the region's candidates open and active, in candidate order.
    pub(super) fn general_options(
        &self,
        c: usize,
        s: usize,
        current: Supplier,
        options: &mut Vec<(Supplier, f64)>,
    ) {
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
    }

    /// The plain-logit choice from the round's menu, with the same operations in the same order
    /// as [`utility`] and [`pick`] on the general path (and [`kernel::exp`], which is `libm::exp`
    /// bit for bit). None when the region has more options than the stack holds.
    #[inline]
    fn choose_from_menu(&self, c: usize, s: usize, current: Supplier, u: f64) -> Option<Supplier> {
        let m = self.m;
        let ns = self.ns();
        let menu = &self.menu;
        let r = m.ccgs[c].region * ns + s;
        let live = &menu.offers[menu.start[r] as usize..menu.start[r + 1] as usize];
        if live.len() + 2 > MENU_OPTIONS {
            return None;
        }
        let w = self.prefs[c];
        let sv = &menu.services[s];
        let mut weight = [0.0; MENU_OPTIONS];
        weight[0] = utility(
            w,
            self.in_house_ratio[c * ns + s],
            sv.in_house_quality,
            sv.in_house_close,
            current == Supplier::InHouse,
        );
        weight[1] = utility(
            w,
            sv.independent_ratio,
            sv.independent_quality,
            sv.independent_close,
            current == Supplier::Independent,
        );
        let host = self.hosts[c];
        for (o, x) in live.iter().zip(&mut weight[2..]) {
            let related = match o.relation {
                Relation::Host => host == Some(o.provider as usize),
                Relation::Member => {
                    host.is_some_and(|h| self.providers[o.provider as usize].members.contains(&h))
                }
                Relation::None => false,
            };
            let close = if related { o.close_related } else { o.close };
            *x = utility(
                w,
                o.price_ratio,
                o.quality,
                close,
                current == Supplier::Provider(o.provider as usize),
            );
        }
        let n = live.len() + 2;
        let max = weight[..n]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        for x in &mut weight[..n] {
            *x -= max;
        }
        // Whole lanes: the zeros after the last option are unused.
        kernel::exp_in_place(&mut weight[..n.next_multiple_of(4)]);
        let weight = &weight[..n];
        let mut sum = 0.0;
        for &x in weight.iter() {
            sum += x;
        }
        Some(menu_pick(weight, sum, u, live))
    }

    /// The nests' dissimilarities, or none when every one is 1: that is the plain logit, kept on
    /// its own path so results stay bit for bit. Asked once per round of choices.
    pub(super) fn nesting(&self) -> Option<[f64; NESTS]> {
        let lambdas = self.m.choice.nests.lambdas();
        (lambdas != [1.0; NESTS]).then_some(lambdas)
    }

    /// The nest of an option for a CCG (MODEL.md section 10).
    pub(super) fn nest(&self, o: Supplier, c: usize) -> usize {
        match o {
            Supplier::None | Supplier::InHouse => NEST_IN_HOUSE,
            Supplier::Independent => NEST_INDEPENDENT,
            Supplier::Provider(pi) => {
                let host = self.hosts[c];
                let in_network = match self.m.providers[pi].kind {
                    ProviderKind::Local => host == Some(pi),
                    ProviderKind::Collaborative => {
                        host.is_some_and(|h| self.providers[pi].members.contains(&h))
                    }
                    ProviderKind::National => false,
                };
                if in_network {
                    NEST_HOST_NETWORK
                } else {
                    NEST_OTHER_NHS
                }
            }
        }
    }
}

/// The option a uniform `u` picks from the menu's options (in-house, independent, then `live`'s
/// offers) by their unnormalised weights `weight`, which add up to `total`: the first whose
/// running sum passes `u * total`, the last if rounding leaves none.
#[inline(always)]
pub(super) fn menu_pick(weight: &[f64], total: f64, u: f64, live: &[MenuOffer]) -> Supplier {
    // The first option whose weight exceeds what is left of the target, found without a
    // branch on it: where the uniform falls cannot be foreseen, and a mispredicted exit costs
    // more than the few subtractions past it (which change nothing once an option is found).
    let mut target = u * total;
    let mut chosen = weight.len() - 1;
    let mut found = false;
    for (i, &x) in weight.iter().enumerate() {
        let hit = !found & (target < x);
        chosen = if hit { i } else { chosen };
        found |= hit;
        target -= x;
    }
    match chosen {
        0 => Supplier::InHouse,
        1 => Supplier::Independent,
        i => Supplier::Provider(live[i - 2].provider as usize),
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

    /// Nested-logit probabilities written out as MODEL.md section 10 states them, with no
    /// rescaling: the reference the engine's overflow-safe version is checked against.
    fn analytic_nested(options: &[(usize, f64)], lambdas: [f64; NESTS]) -> Vec<f64> {
        let inclusive: Vec<Option<f64>> = (0..NESTS)
            .map(|n| {
                let s: f64 = options
                    .iter()
                    .filter(|o| o.0 == n)
                    .map(|o| (o.1 / lambdas[n]).exp())
                    .sum();
                (s > 0.0).then(|| s.ln())
            })
            .collect();
        let denominator: f64 = (0..NESTS)
            .filter_map(|n| inclusive[n].map(|i| (lambdas[n] * i).exp()))
            .sum();
        options
            .iter()
            .map(|&(n, u)| {
                let i = inclusive[n].unwrap();
                (lambdas[n] * i).exp() / denominator * (u / lambdas[n]).exp() / i.exp()
            })
            .collect()
    }

    /// In-house, the host, three other NHS providers and the independent sector.
    const NESTED_OPTIONS: [(usize, f64); 6] = [
        (NEST_IN_HOUSE, 0.2),
        (NEST_HOST_NETWORK, 0.5),
        (NEST_OTHER_NHS, 0.4),
        (NEST_OTHER_NHS, 0.3),
        (NEST_OTHER_NHS, 0.1),
        (NEST_INDEPENDENT, -0.2),
    ];

    #[test]
    fn nested_probabilities_match_the_analytic_formula() {
        for lambdas in [[1.0, 0.7, 0.3, 1.0], [0.5, 0.5, 0.05, 0.9], [1.0; NESTS]] {
            let p = nested_probabilities(&NESTED_OPTIONS, lambdas);
            let q = analytic_nested(&NESTED_OPTIONS, lambdas);
            for (a, b) in p.iter().zip(&q) {
                assert!((a - b).abs() < 1e-12, "{p:?} against {q:?}");
            }
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // Empty nests are left out: without the independent sector the rest share everything.
        let p = nested_probabilities(&NESTED_OPTIONS[..5], [1.0, 0.7, 0.3, 0.2]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn nested_choice_with_every_lambda_one_is_the_plain_logit() {
        let utilities: Vec<f64> = NESTED_OPTIONS.iter().map(|o| o.1).collect();
        let plain = probabilities(&utilities);
        let nested = nested_probabilities(&NESTED_OPTIONS, [1.0; NESTS]);
        for (a, b) in plain.iter().zip(&nested) {
            assert!((a - b).abs() < 1e-15, "{plain:?} against {nested:?}");
        }
    }

    #[test]
    fn nested_choice_matches_analytic_nested_logit_over_many_draws() {
        let lambdas = [1.0, 0.7, 0.3, 1.0];
        let expected = analytic_nested(&NESTED_OPTIONS, lambdas);
        // Each option stands for a supplier; the nest is read back from the option's position.
        let suppliers: Vec<Supplier> = (0..NESTED_OPTIONS.len()).map(Supplier::Provider).collect();
        let nest_of = |o: Supplier| match o {
            Supplier::Provider(i) => NESTED_OPTIONS[i].0,
            _ => unreachable!(),
        };
        let n = 200_000;
        let mut rng = stream(13, 0, 0, 0, Purpose::Choice, 0);
        let mut hits = vec![0u32; NESTED_OPTIONS.len()];
        let mut options = Vec::new();
        for _ in 0..n {
            options.clear();
            options.extend(
                suppliers
                    .iter()
                    .zip(&NESTED_OPTIONS)
                    .map(|(s, o)| (*s, o.1)),
            );
            match pick_nested(&mut options, nest_of, lambdas, uniform(&mut rng)) {
                Supplier::Provider(i) => hits[i] += 1,
                other => panic!("picked {other:?}"),
            }
        }
        for (i, &p) in expected.iter().enumerate() {
            let share = f64::from(hits[i]) / f64::from(n);
            let se = (p * (1.0 - p) / f64::from(n)).sqrt();
            assert!(
                (share - p).abs() < 4.0 * se,
                "option {i}: share {share}, expected {p}"
            );
        }
        // A small lambda for the other NHS nest takes share from it: the dilution is gone.
        let plain = analytic_nested(&NESTED_OPTIONS, [1.0; NESTS]);
        assert!(expected[2] + expected[3] + expected[4] < plain[2] + plain[3] + plain[4]);
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
