//! Reading a replication between steps, for rule tests and tools: views of CCGs' contracts,
//! providers' state, the quarter's money and the last checkpoint's domains; and a few setters,
//! hidden from the docs, that let a test put a provider where a rule can be reached.

use crate::model::Market;

use super::assurance::Assessment;
use super::observation::{Fate, Ledger};
use super::state::{Contract, Line, ProviderState, Replication, Status, Supplier};

/// One quarter's money, as it was delivered: each figure is its own sum, kept apart from the
/// others, so that a test of conservation compares independently summed amounts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MoneyFlows {
    /// What CCGs paid, summed payment by payment on the CCGs' side.
    pub ccgs_paid: f64,
    /// What providers earned, summed over their lines' booked revenue.
    pub provider_revenue: f64,
    /// What CCGs paid their own teams, fallback for unmet volume included.
    pub in_house: f64,
    /// What CCGs paid the independent sector.
    pub independent: f64,
}

impl<'m> Replication<'m> {
    /// The market it runs.
    pub fn market(&self) -> &'m Market {
        self.m
    }

    /// The replication's index.
    pub fn replication(&self) -> u64 {
        self.rep
    }

    /// The current quarter: 0 is the planning quarter.
    pub fn quarter(&self) -> u32 {
        self.quarter
    }

    /// Market index of the provider with this id.
    pub fn provider_index(&self, id: &str) -> Option<usize> {
        self.m.providers.iter().position(|p| p.id == id)
    }

    /// Index of the service with this id.
    pub fn service_index(&self, id: &str) -> Option<usize> {
        self.m.services.iter().position(|s| s.id == id)
    }

    /// Index of the CCG with this id.
    pub fn ccg_index(&self, id: &str) -> Option<usize> {
        self.m.ccgs.iter().position(|c| c.id == id)
    }

    /// A provider's state, by market index.
    pub fn provider(&self, p: usize) -> &ProviderState {
        &self.providers[p]
    }

    /// Every provider's state, in market order.
    pub fn providers(&self) -> &[ProviderState] {
        &self.providers
    }

    /// A CCG's contract (or intention, in the planning quarter) for a service.
    pub fn contract(&self, c: usize, s: usize) -> Contract {
        self.contracts[c * self.ns() + s]
    }

    /// A CCG's host CSU now (it changes when the host merges).
    pub fn host(&self, c: usize) -> Option<usize> {
        self.hosts[c]
    }

    /// A CCG's annual volume of a service, as drawn for the replication.
    pub fn volume(&self, c: usize, s: usize) -> f64 {
        self.volume[c * self.ns() + s]
    }

    /// CCGs buying at least one service from a provider; a member counts the CCGs it delivers a
    /// network's service to.
    pub fn customer_count(&self, p: usize) -> u32 {
        if self.providers[p].is_open() {
            self.customers().0[p]
        } else {
            0
        }
    }

    /// The last delivery's money flows (all zero before the first).
    pub fn money(&self) -> MoneyFlows {
        let d = &self.delivery;
        MoneyFlows {
            ccgs_paid: d.ccg_spend,
            provider_revenue: self
                .providers
                .iter()
                .flat_map(|p| &p.lines)
                .map(|l| l.revenue)
                .sum(),
            in_house: self.ledger.in_house_spend - d.ledger_before.in_house_spend,
            independent: self.ledger.independent_spend - d.ledger_before.independent_spend,
        }
    }

    /// Money paid and received over the quarters so far.
    pub fn ledger(&self) -> Ledger {
        self.ledger
    }

    /// Supplier choices CCGs made so far, intentions included.
    pub fn decisions(&self) -> u64 {
        self.decisions
    }

    /// A provider's projected margin for the next year at current contracts and prices, as a
    /// checkpoint would judge it now (a member counts its share of its networks' results).
    pub fn projected_margin(&self, p: usize) -> f64 {
        self.projected_margin_with(p, &self.projected_shares())
    }

    /// The fixed cost per year a provider books for a line now: the offer's, a network's
    /// coordination, and while hosted a local CSU's part of the hosting charge.
    pub fn booked_fixed_cost(&self, p: usize, s: usize) -> f64 {
        self.fixed_cost(p, s, self.hosting_charge(p))
    }

    /// Population of a local CSU's patch now (it grows when the CSU absorbs another).
    pub fn patch_population(&self, p: usize) -> f64 {
        self.patch_pop[p]
    }

    /// Test-facing: sets a provider's capability (the mean of its standards as drawn).
    #[doc(hidden)]
    pub fn set_capability(&mut self, p: usize, capability: f64) {
        self.providers[p].capability = capability;
    }

    /// Test-facing: sets a provider's reserves.
    #[doc(hidden)]
    pub fn set_reserves(&mut self, p: usize, reserves: f64) {
        self.providers[p].reserves = reserves;
    }

    /// Test-facing: sets the quality of a provider's line, as drawn and as CCGs see it.
    #[doc(hidden)]
    pub fn set_quality(&mut self, p: usize, s: usize, quality: f64) {
        let l = &mut self.providers[p].lines[s];
        l.quality = quality;
        l.eff_quality = quality;
    }

    /// Test-facing: sets the capacity of a provider's line (annual volume).
    #[doc(hidden)]
    pub fn set_capacity(&mut self, p: usize, s: usize, capacity: f64) {
        self.providers[p].lines[s].capacity = capacity;
    }

    /// Test-facing: sets the price of a provider's line.
    #[doc(hidden)]
    pub fn set_price(&mut self, p: usize, s: usize, price: f64) {
        self.providers[p].lines[s].price = price;
    }
}

impl Contract {
    /// Who supplies the service.
    pub fn supplier(&self) -> Supplier {
        self.supplier
    }

    /// The quarter in which the CCG chooses again.
    pub fn end(&self) -> u32 {
        self.end
    }

    /// Whether the CCG has given notice.
    pub fn notice_given(&self) -> bool {
        self.notice
    }
}

impl ProviderState {
    /// Open, or closed and how.
    pub fn status(&self) -> Status {
        self.status
    }

    /// How its story stands: survived while open.
    pub fn fate(&self) -> Fate {
        match self.status {
            Status::Open => Fate::Survived,
            Status::Closed(f) => f,
        }
    }

    /// The quarter in which it stopped, failed, merged or ended.
    pub fn exit_quarter(&self) -> Option<u32> {
        self.exit_period
    }

    /// Reserves (£).
    pub fn reserves(&self) -> f64 {
        self.reserves
    }

    /// Its line for a service (empty if it never offered it).
    pub fn line(&self, s: usize) -> &Line {
        &self.lines[s]
    }

    /// Revenue of the last four quarters it was open, by quarter modulo 4 (shares of networks'
    /// results included).
    pub fn quarterly_revenue(&self) -> [f64; 4] {
        self.revenue_hist
    }

    /// Cost of the last four quarters it was open, by quarter modulo 4.
    pub fn quarterly_cost(&self) -> [f64; 4] {
        self.cost_hist
    }

    /// Quarters in which it kept accounts.
    pub fn quarters_open(&self) -> u32 {
        self.quarters_open
    }

    /// Current members (a collaborative), in order.
    pub fn members(&self) -> &[usize] {
        &self.members
    }

    /// Current lead (a collaborative).
    pub fn lead(&self) -> Option<usize> {
        self.lead
    }

    /// Volume each member delivered in the last delivery (a collaborative), in member order.
    pub fn delivered(&self) -> &[f64] {
        &self.delivered
    }

    /// Rating at each checkpoint: 0 not rated, 1 A, 2 B, 3 C.
    pub fn ratings(&self) -> &[u8] {
        &self.ratings
    }

    /// Domains and rating at the last checkpoint that rated it.
    pub fn assessment(&self) -> Option<Assessment> {
        self.assessment
    }

    /// Capability: the mean of its four standards as drawn.
    pub fn capability(&self) -> f64 {
        self.capability
    }

    /// Contracted volume it could not serve so far.
    pub fn unmet(&self) -> f64 {
        self.unmet
    }
}

impl Line {
    /// The provider has an offer for the service (it may be dormant inside a network).
    pub fn exists(&self) -> bool {
        self.exists
    }

    /// CCGs can buy it now.
    pub fn active(&self) -> bool {
        self.active
    }

    /// Quality as drawn for the replication.
    pub fn quality(&self) -> f64 {
        self.quality
    }

    /// Quality as CCGs see it: lower when overloaded at the last delivery.
    pub fn effective_quality(&self) -> f64 {
        self.eff_quality
    }

    /// Price per unit.
    pub fn price(&self) -> f64 {
        self.price
    }

    /// The business plan's price.
    pub fn plan_price(&self) -> f64 {
        self.plan_price
    }

    /// Capacity (annual volume).
    pub fn capacity(&self) -> f64 {
        self.capacity
    }

    /// Annual volume under contract at the last tally (procurement's, or delivery's).
    pub fn contracted(&self) -> f64 {
        self.contracted
    }

    /// Volume served in the last delivery (a quarter's).
    pub fn served(&self) -> f64 {
        self.served
    }

    /// Revenue of the last delivery.
    pub fn revenue(&self) -> f64 {
        self.revenue
    }

    /// Redundancy cost booked by the last capacity step, charged at the next accounts.
    pub fn redundancy(&self) -> f64 {
        self.redundancy
    }

    /// Fixed cost per year of the offer (a network's coordination cost not included).
    pub fn fixed_cost(&self) -> f64 {
        self.fixed
    }

    /// Unit cost of the offer.
    pub fn unit_cost(&self) -> f64 {
        self.unit
    }

    /// Contracted annual volume recorded in each of the last four quarters, by quarter modulo 4.
    pub fn contracted_history(&self) -> [f64; 4] {
        self.history
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::Replication;
    use crate::engine::testing::market;

    #[test]
    fn money_flows_of_a_quarter_add_up_from_separate_sums() {
        let m = market("collaborative");
        let mut r = Replication::new(&m, 5);
        r.plan();
        assert_eq!(
            r.money().ccgs_paid,
            0.0,
            "nothing is paid in the planning quarter"
        );
        for _ in 1..m.periods {
            r.run_quarter();
            let f = r.money();
            let parts = f.provider_revenue + f.in_house + f.independent;
            assert!(f.ccgs_paid > 0.0);
            assert!((f.ccgs_paid - parts).abs() <= 1e-9 * f.ccgs_paid, "{f:?}");
        }
    }
}
