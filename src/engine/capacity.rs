//! Step 4, capacity (MODEL.md section 3): providers hire toward contracted volume when short and
//! shed when idle, paying redundancy on what they shed. The cost of idle capacity is booked by
//! `finance.rs`.

use super::state::{Replication, Status};

impl Replication<'_> {
    /// Step 4: each active line's capacity moves toward its contracted volume, by `hire_rate` of
    /// the gap when short and `shed_rate` of the excess when idle; shedding costs
    /// `redundancy_cost x unit_cost x` the capacity shed, booked in the next quarter's accounts.
    pub fn adjust_capacity(&mut self) {
        let f = &self.m.finance;
        for st in &mut self.providers {
            if st.status != Status::Open {
                continue;
            }
            for l in &mut st.lines {
                l.redundancy = 0.0;
                if !l.active {
                    continue;
                }
                let target = l.contracted;
                if l.capacity < target {
                    l.capacity += f.hire_rate * (target - l.capacity);
                } else {
                    let shed = f.shed_rate * (l.capacity - target);
                    l.capacity -= shed;
                    l.redundancy = f.redundancy_cost * l.unit * shed;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::Replication;
    use crate::engine::testing::*;

    #[test]
    fn capacity_never_goes_negative() {
        let mut m = market("collaborative");
        // Shed hard and hire fast: capacity still moves toward a non-negative target.
        m.finance.shed_rate = 1.0;
        m.finance.hire_rate = 1.0;
        for rep in 0..10 {
            let mut w = Replication::new(&m, rep);
            w.plan();
            for _ in 1..m.periods {
                w.start_quarter();
                w.procure();
                w.deliver();
                w.finance();
                w.review_prices();
                w.adjust_capacity();
                for st in &w.providers {
                    assert!(st.lines.iter().all(|l| l.capacity >= 0.0));
                }
            }
        }
    }
}
