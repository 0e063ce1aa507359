//! The nested-logit choice (MODEL.md section 10) from the round's menu: the engine's path for
//! England 2012 and any market whose nests are not all 1. It does what `choice::pick_nested`
//! does over the general path's options, with the same operations in the same order, so the pick
//! is the same bit for bit; what it saves is work, not precision: each option's `exp` is taken
//! once (the general path took it for the nest's sum and again for the option's weight), two at a
//! time in SSE2 lanes, the logarithms inline ([`kernel::ln`]), and nothing leaves the stack.

use super::choice::{
    MENU_OPTIONS, NEST_HOST_NETWORK, NEST_IN_HOUSE, NEST_INDEPENDENT, NEST_OTHER_NHS, NESTS,
    utility,
};
use super::kernel;
use super::menu::{MenuOffer, Relation};
use super::state::{Replication, Supplier};

impl Replication<'_> {
    /// The nested-logit choice from the round's menu, the same bit for bit as
    /// `choice::pick_nested` over the general path's options. None when the region has more
    /// options than the stack holds.
    #[inline]
    pub(super) fn choose_nested_from_menu(
        &self,
        c: usize,
        s: usize,
        current: Supplier,
        u: f64,
        lambdas: [f64; NESTS],
    ) -> Option<Supplier> {
        let mut x = [0.0; MENU_OPTIONS];
        let (n, live, total) = self.nested_weights(c, s, current, lambdas, &mut x)?;
        Some(super::choice::menu_pick(&x[..n], total, u, live))
    }

    /// Each option's unnormalised nested-logit probability, in the general path's order
    /// (in-house, independent, then the menu's offers), written to `x`: the weights
    /// `choice::pick_nested` leaves in its options. Returns the number of options, the offers and
    /// the weights' sum (added in option order, as `pick_nested` adds them), or None when the
    /// region has more options than `x` holds.
    ///
    /// In-house and the independent sector are alone in their nests, so their `exp(U / lambda -
    /// max)` is `exp(0) = 1` exactly, and the nest sum is `0 + 1`; only the offers' exps are taken.
    #[inline(always)]
    fn nested_weights<'a>(
        &'a self,
        c: usize,
        s: usize,
        current: Supplier,
        lambdas: [f64; NESTS],
        x: &mut [f64; MENU_OPTIONS],
    ) -> Option<(usize, &'a [MenuOffer], f64)> {
        let m = self.m;
        let ns = self.ns();
        let sv = &m.services[s];
        let menu = &self.menu;
        let r = m.ccgs[c].region * ns + s;
        let live = &menu.offers[menu.start[r] as usize..menu.start[r + 1] as usize];
        let n = live.len() + 2;
        if n > MENU_OPTIONS {
            return None;
        }
        let w = self.prefs[c];
        let mut max = [f64::NEG_INFINITY; NESTS];
        max[NEST_IN_HOUSE] = max[NEST_IN_HOUSE].max(
            utility(
                w,
                self.in_house_ratio[c * ns + s],
                sv.in_house_quality,
                sv.locality * m.closeness.in_house,
                current == Supplier::InHouse,
            ) / lambdas[NEST_IN_HOUSE],
        );
        max[NEST_INDEPENDENT] = max[NEST_INDEPENDENT].max(
            utility(
                w,
                sv.independent_price / sv.reference_price,
                sv.independent_quality,
                sv.locality * m.closeness.other,
                current == Supplier::Independent,
            ) / lambdas[NEST_INDEPENDENT],
        );
        // Each offer's utility over its nest's lambda, then (in place) its exp less the nest's max.
        let host = self.hosts[c];
        let mut in_network = [false; MENU_OPTIONS];
        let offers = &mut x[2..n];
        for ((o, xi), net) in live.iter().zip(offers.iter_mut()).zip(&mut in_network) {
            *net = match o.relation {
                Relation::Host => host == Some(o.provider as usize),
                Relation::Member => {
                    host.is_some_and(|h| self.providers[o.provider as usize].members.contains(&h))
                }
                Relation::None => false,
            };
            let (close, k) = if *net {
                (o.close_related, NEST_HOST_NETWORK)
            } else {
                (o.close, NEST_OTHER_NHS)
            };
            *xi = utility(
                w,
                o.price_ratio,
                o.quality,
                close,
                current == Supplier::Provider(o.provider as usize),
            ) / lambdas[k];
            max[k] = max[k].max(*xi);
        }
        let (max_network, max_other) = (max[NEST_HOST_NETWORK], max[NEST_OTHER_NHS]);
        for (xi, &net) in offers.iter_mut().zip(&in_network) {
            *xi -= if net { max_network } else { max_other };
        }
        kernel::exp_in_place(offers);
        let mut sum = [0.0; NESTS];
        sum[NEST_IN_HOUSE] += 1.0;
        sum[NEST_INDEPENDENT] += 1.0;
        let (mut sum_network, mut sum_other) = (0.0, 0.0);
        for (&e, &net) in offers.iter().zip(&in_network) {
            if net {
                sum_network += e;
            } else {
                sum_other += e;
            }
        }
        sum[NEST_HOST_NETWORK] = sum_network;
        sum[NEST_OTHER_NHS] = sum_other;
        // Each nest's lambda times its inclusive value, and the largest of them.
        let mut li = [0.0; NESTS];
        let mut top = f64::NEG_INFINITY;
        for k in 0..NESTS {
            if sum[k] > 0.0 {
                li[k] = lambdas[k] * (max[k] + kernel::ln(sum[k]));
                top = top.max(li[k]);
            }
        }
        // A nest's weight over its own sum, so each option's weight is its unnormalised probability.
        let mut factor = li.map(|l| l - top);
        kernel::exp_in_place(&mut factor);
        for k in 0..NESTS {
            factor[k] = if sum[k] > 0.0 {
                factor[k] / sum[k]
            } else {
                0.0
            };
        }
        // The singletons' exp is 1, and 1 times a factor is the factor.
        x[0] = factor[NEST_IN_HOUSE];
        x[1] = factor[NEST_INDEPENDENT];
        let mut total = 0.0;
        total += x[0];
        total += x[1];
        let (f_network, f_other) = (factor[NEST_HOST_NETWORK], factor[NEST_OTHER_NHS]);
        for (xi, &net) in x[2..n].iter_mut().zip(&in_network) {
            *xi *= if net { f_network } else { f_other };
            total += *xi;
        }
        Some((n, live, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::choice::{pick, pick_nested};
    use crate::engine::testing::{market, replication_in_quarter_one};
    use crate::model::rng::{Purpose, stream, uniform};
    use crate::scenario::schema::Nests;

    /// The menu's nested weights are the general path's, bit for bit, and so is every pick: for
    /// every CCG, service and current supplier, with a host network of two (a local CSU and its
    /// collaborative), other NHS providers, national ones, and lambdas from near 0 to 1.
    #[test]
    fn nested_choice_from_the_menu_is_the_general_path_bit_for_bit() {
        let mut r = stream(21, 0, 0, 0, Purpose::Choice, 0);
        let mut compared = 0;
        for config in ["local", "collaborative", "national"] {
            let mut m = market(config);
            for lambdas in [
                [1.0, 0.7, 0.3, 1.0],
                [0.5, 0.05, 0.9, 0.2],
                [1.0, 1.0, 0.05, 1.0],
            ] {
                let [in_house, host_network, other_nhs, independent] = lambdas;
                m.choice.nests = Nests {
                    in_house,
                    host_network,
                    other_nhs,
                    independent,
                };
                let w = replication_in_quarter_one(&m);
                let nests = w.nesting().unwrap();
                let mut options = Vec::new();
                for c in 0..m.ccgs.len() {
                    for s in 0..m.services.len() {
                        let providers = (0..m.providers.len()).map(Supplier::Provider);
                        let currents = [Supplier::None, Supplier::InHouse, Supplier::Independent];
                        for current in currents.into_iter().chain(providers) {
                            let mut x = [0.0; MENU_OPTIONS];
                            let (n, _, _) = w.nested_weights(c, s, current, nests, &mut x).unwrap();
                            w.general_options(c, s, current, &mut options);
                            assert_eq!(n, options.len());
                            for _ in 0..20 {
                                let u = uniform(&mut r);
                                let fast = w.choose_nested_from_menu(c, s, current, u, nests);
                                w.general_options(c, s, current, &mut options);
                                let slow = pick_nested(&mut options, |o| w.nest(o, c), nests, u);
                                assert_eq!(fast, Some(slow), "ccg {c}, service {s}, u {u}");
                            }
                            for (a, b) in x[..n].iter().zip(&options) {
                                assert_eq!(
                                    a.to_bits(),
                                    b.1.to_bits(),
                                    "{:?} against {options:?}",
                                    &x[..n]
                                );
                            }
                            compared += 1;
                        }
                    }
                }
            }
        }
        assert!(compared > 500, "{compared}");
    }

    /// The plain logit's menu path (every lambda 1) picks what the general path picks.
    #[test]
    fn plain_choice_from_the_menu_is_the_general_path() {
        let mut r = stream(22, 0, 0, 0, Purpose::Choice, 0);
        for config in ["local", "collaborative", "national"] {
            let m = market(config);
            let w = replication_in_quarter_one(&m);
            assert!(w.nesting().is_none());
            let mut options = Vec::new();
            for c in 0..m.ccgs.len() {
                for s in 0..m.services.len() {
                    let providers = (0..m.providers.len()).map(Supplier::Provider);
                    let currents = [Supplier::None, Supplier::InHouse, Supplier::Independent];
                    for current in currents.into_iter().chain(providers) {
                        for _ in 0..20 {
                            let u = uniform(&mut r);
                            let fast = w.choose(c, s, current, u, &mut options, None);
                            w.general_options(c, s, current, &mut options);
                            assert_eq!(fast, pick(&mut options, u), "ccg {c}, service {s}");
                        }
                    }
                }
            }
        }
    }
}
