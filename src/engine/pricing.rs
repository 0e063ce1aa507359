//! Prices (MODEL.md section 3, step 3): the cost-plus formula
//! `price = (fixed_cost / expected_volume + unit_cost) x (1 + markup)`, used for the business plan
//! (`plan.rs`) and, once a year, the price review with its cap. Fewer customers mean a higher
//! price at the next review: this is how a death spiral emerges.

use super::state::Replication;

/// The cost-plus price per unit of a line with this annual fixed cost, expected annual volume,
/// unit cost and markup.
pub(super) fn cost_plus_price(fixed: f64, volume: f64, unit: f64, markup: f64) -> f64 {
    (fixed / volume + unit) * (1.0 + markup)
}

/// Prices are reviewed once a year from the second contract year on: quarters 5, 9, 13, ...
pub fn is_review_quarter(t: u32) -> bool {
    t >= 5 && (t - 1) % 4 == 0
}

impl Replication<'_> {
    /// Step 3, after the accounts: in a review quarter each active line's price moves toward the
    /// cost-plus price on the mean of the last four quarters' contracted volume, by at most
    /// `max_price_change` of the old price; every quarter the contracted volume is recorded.
    pub fn review_prices(&mut self) {
        let m = self.m;
        let ns = self.ns();
        let t = self.quarter;
        let slot = (t % 4) as usize;
        let review = is_review_quarter(t);
        for pi in 0..m.providers.len() {
            if !self.providers[pi].is_open() {
                continue;
            }
            let markup = m.providers[pi].markup;
            // Only a review reads the fixed costs.
            let charged = if review {
                self.hosting_charge(pi)
            } else {
                None
            };
            for s in 0..ns {
                if !self.providers[pi].lines[s].active {
                    continue;
                }
                let fixed = if review {
                    self.fixed_cost(pi, s, charged)
                } else {
                    0.0
                };
                let l = &mut self.providers[pi].lines[s];
                if review {
                    let expected = l.history.iter().sum::<f64>() / 4.0;
                    let target = if expected > 0.0 {
                        cost_plus_price(fixed, expected, l.unit, markup)
                    } else {
                        f64::INFINITY
                    };
                    let cap = m.finance.max_price_change;
                    l.price = target.clamp(l.price * (1.0 - cap), l.price * (1.0 + cap));
                }
                l.history[slot] = l.contracted;
            }
        }
    }
}
