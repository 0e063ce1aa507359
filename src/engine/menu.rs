//! The menu of a round of choices (MODEL.md section 4): per region and service, the providers a
//! CCG can choose from, with what the choice reads of each (price ratio, effective quality,
//! closeness terms), taken from provider state once when the round starts. Choices never change
//! provider state, so it holds for the whole round; `choice.rs` reads it.

use crate::scenario::schema::ProviderKind;

use super::state::Replication;

/// How a provider's closeness to a CCG depends on the CCG's host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Relation {
    /// It does not (national providers).
    None,
    /// Closer when it is the CCG's host (local CSUs).
    Host,
    /// Closer when the CCG's host is one of its members (collaboratives).
    Member,
}

/// One option of a round's menu: a provider open and active for a service.
#[derive(Debug, Clone, Copy)]
pub(super) struct MenuOffer {
    pub(super) provider: u32,
    pub(super) relation: Relation,
    /// Price over the service's reference price.
    pub(super) price_ratio: f64,
    /// Effective quality.
    pub(super) quality: f64,
    /// The service's locality times the closeness when the relation holds (the utility's
    /// closeness term, the same product the choice took before the menu held it).
    pub(super) close_related: f64,
    /// The same when it does not.
    pub(super) close: f64,
}

/// What every CCG's choice reads of a service's in-house and independent options, the products
/// and ratio taken once per round instead of once per choice (the same operations, so the same
/// bits).
#[derive(Debug, Clone, Copy)]
pub(super) struct ServiceTerms {
    pub(super) in_house_quality: f64,
    /// The service's locality times the in-house closeness.
    pub(super) in_house_close: f64,
    /// The independent sector's price over the service's reference price.
    pub(super) independent_ratio: f64,
    pub(super) independent_quality: f64,
    /// The service's locality times the closeness of other providers.
    pub(super) independent_close: f64,
}

/// Per region and service, the providers a CCG can choose from in this round, read once from
/// provider state when the round starts (`start[region * S + s]..start[region * S + s + 1]`
/// into `offers`).
#[derive(Debug, Default)]
pub(super) struct Menu {
    pub(super) offers: Vec<MenuOffer>,
    pub(super) start: Vec<u32>,
    /// Per line (`p * S + s`): whether it can be bought from (provider open, line active), and
    /// its effective quality, for the checks every contract gets each quarter.
    pub(super) lines: Vec<(bool, f64)>,
    /// Per service, the in-house and independent options' terms.
    pub(super) services: Vec<ServiceTerms>,
    /// The offers again, field by field, for the nested choice's lanes (`lanes.rs`).
    pub(super) columns: OfferColumns,
    /// Per region and service, which of its first 32 offers are collaboratives (bit `i`: offer
    /// `start + i`), the only ones whose relation to a CCG's host needs a search of members.
    pub(super) member_offers: Vec<u32>,
}

/// The menu's offers as a structure of arrays, in `Menu::offers`'s order, each column followed
/// by [`COLUMN_PAD`] values so that four-value loads from any offer stay inside it.
#[derive(Debug, Default)]
pub(super) struct OfferColumns {
    pub(super) price_ratio: Vec<f64>,
    pub(super) quality: Vec<f64>,
    pub(super) close_related: Vec<f64>,
    pub(super) close: Vec<f64>,
    /// The provider's index.
    pub(super) provider: Vec<i64>,
    /// The provider's index for a local CSU (related when it is the CCG's host), else -1.
    pub(super) host: Vec<i64>,
}

/// Values after the last offer in each of [`OfferColumns`]' columns.
pub(super) const COLUMN_PAD: usize = 3;

impl OfferColumns {
    fn clear(&mut self) {
        self.price_ratio.clear();
        self.quality.clear();
        self.close_related.clear();
        self.close.clear();
        self.provider.clear();
        self.host.clear();
    }

    fn push(&mut self, o: &MenuOffer) {
        self.price_ratio.push(o.price_ratio);
        self.quality.push(o.quality);
        self.close_related.push(o.close_related);
        self.close.push(o.close);
        self.provider.push(i64::from(o.provider));
        self.host.push(match o.relation {
            Relation::Host => i64::from(o.provider),
            Relation::None | Relation::Member => -1,
        });
    }
}

impl Replication<'_> {
    /// Rebuilds the round's [`Menu`]: per region and service, the candidates open and active
    /// now, with their price ratio, effective quality and closeness. Choices read provider state
    /// only through it, and no choice changes provider state, so it holds for the whole round.
    /// Its buffers are reused, so nothing is allocated after the first round.
    pub(super) fn refresh_menu(&mut self) {
        let m = self.m;
        let ns = self.ns();
        let mut menu = std::mem::take(&mut self.menu);
        menu.offers.clear();
        menu.start.clear();
        menu.member_offers.clear();
        let l = &m.closeness;
        for region in &m.candidates {
            for (s, candidates) in region.iter().enumerate() {
                let first = menu.offers.len();
                menu.start.push(first as u32);
                let mut members = 0u32;
                let sv = &m.services[s];
                for &pi in candidates {
                    let st = &self.providers[pi];
                    let line = &st.lines[s];
                    if !(st.is_open() && line.active) {
                        continue;
                    }
                    // Candidates of a region lie in it (or are national).
                    let in_region = m.providers[pi].region.is_some();
                    let (relation, close_related, close) = match m.providers[pi].kind {
                        ProviderKind::National => (Relation::None, l.other, l.other),
                        ProviderKind::Local => (
                            Relation::Host,
                            l.host,
                            if in_region {
                                l.same_region_local
                            } else {
                                l.other
                            },
                        ),
                        ProviderKind::Collaborative => (
                            Relation::Member,
                            l.member_collaborative,
                            if in_region {
                                l.region_collaborative
                            } else {
                                l.other
                            },
                        ),
                    };
                    let i = menu.offers.len() - first;
                    if relation == Relation::Member && i < 32 {
                        members |= 1 << i;
                    }
                    menu.offers.push(MenuOffer {
                        provider: pi as u32,
                        relation,
                        price_ratio: line.price / sv.reference_price,
                        quality: line.eff_quality,
                        close_related: sv.locality * close_related,
                        close: sv.locality * close,
                    });
                }
                menu.member_offers.push(members);
            }
        }
        menu.columns.clear();
        for o in &menu.offers {
            menu.columns.push(o);
        }
        let pad = MenuOffer {
            provider: u32::MAX,
            relation: Relation::None,
            price_ratio: 0.0,
            quality: 0.0,
            close_related: 0.0,
            close: 0.0,
        };
        for _ in 0..COLUMN_PAD {
            menu.columns.push(&pad);
        }
        menu.services.clear();
        menu.services
            .extend(m.services.iter().map(|sv| ServiceTerms {
                in_house_quality: sv.in_house_quality,
                in_house_close: sv.locality * l.in_house,
                independent_ratio: sv.independent_price / sv.reference_price,
                independent_quality: sv.independent_quality,
                independent_close: sv.locality * l.other,
            }));
        menu.lines.clear();
        for st in &self.providers {
            let open = st.is_open();
            menu.lines
                .extend(st.lines.iter().map(|l| (open && l.active, l.eff_quality)));
        }
        debug_assert_eq!(menu.start.len(), m.candidates.len() * ns);
        menu.start.push(menu.offers.len() as u32);
        self.menu = menu;
    }
}
