//! The planning quarter (MODEL.md section 3, quarter 0): networks pool their members' capacity,
//! every line is priced on its business plan, CCGs state intentions and the quarter-0 checkpoints
//! rate providers on them. No accounts are kept and nothing is delivered.

use crate::scenario::schema::ProviderKind;

use super::pricing::cost_plus_price;
use super::procurement::Round;
use super::state::Replication;

impl Replication<'_> {
    /// Runs the planning quarter (quarter 0): business plans, intentions, the quarter-0
    /// checkpoints (after each, CCGs whose intended supplier was stopped state a new intention).
    pub fn plan(&mut self) {
        let m = self.m;
        self.pool_networks();
        // The business plan's volume: a share of its targets' need, known before any draw.
        let targets_need = self.targets_need();
        let share = m.rules.plan_share;
        for (pi, p) in m.providers.iter().enumerate() {
            let charged = self.hosting_charge(pi);
            for s in 0..m.services.len() {
                if !self.providers[pi].lines[s].exists {
                    continue;
                }
                let need = targets_need[pi] * m.services[s].need_per_head * share;
                let fixed = self.fixed_cost(pi, s, charged);
                let line = &mut self.providers[pi].lines[s];
                let volume = if need > 0.0 {
                    need
                } else {
                    line.capacity.max(1.0)
                };
                line.price = cost_plus_price(fixed, volume, line.unit, p.markup);
                line.plan_price = line.price;
                line.history = [volume; 4];
            }
        }
        self.intend(None);
        for (ci, cp) in m.checkpoints.iter().enumerate() {
            if cp.period == 0 {
                self.tally_contracted();
                self.assure_checkpoint(0, ci, cp);
                self.intend(Some(ci));
            }
        }
        self.tally_contracted();
        self.observe_plan();
    }

    /// Population each provider targets: its patch, its members' patches, or everyone.
    fn targets_need(&self) -> Vec<f64> {
        let m = self.m;
        let mut pop = vec![0.0; m.providers.len()];
        for (pi, p) in m.providers.iter().enumerate() {
            match p.kind {
                ProviderKind::National => pop[pi] = m.population,
                ProviderKind::Local => pop[pi] = self.patch_pop[pi],
                ProviderKind::Collaborative => {
                    pop[pi] = self.providers[pi]
                        .members
                        .iter()
                        .map(|&mi| self.patch_pop[mi])
                        .sum();
                }
            }
        }
        pop
    }

    /// CCGs state intentions (quarter 0): first all of them, then after a checkpoint only those
    /// whose intended supplier was stopped.
    fn intend(&mut self, after: Option<usize>) {
        self.choice_round(0, Round::Intend(after));
    }
}
