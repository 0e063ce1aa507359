//! "Did you mean" hints: the names closest to a misspelt one by edit distance.
//!
//! A scenario may hold thousands of misspelt paths and thousands of fields, so the search is
//! bounded twice: each distance is computed only within a band as wide as the best distance found
//! so far (a candidate that cannot beat the third best is abandoned early), and one [`Suggester`]
//! stops computing after [`SUGGESTION_WORK`] cells of the distance tables, however many names it
//! is asked about. Past that, problems are still all reported, without hints.

/// Cells of edit-distance tables one [`Suggester`] may compute (a few hundred milliseconds in a
/// debug build).
pub const SUGGESTION_WORK: u64 = 20_000_000;

/// Finds close matches for misspelt names within a shared budget of work.
#[derive(Debug, Clone)]
pub struct Suggester {
    work: u64,
}

impl Default for Suggester {
    fn default() -> Self {
        Suggester::new()
    }
}

impl Suggester {
    /// A suggester with the full budget.
    pub fn new() -> Suggester {
        Suggester { work: 0 }
    }

    /// Cells of distance tables computed so far.
    pub fn work_done(&self) -> u64 {
        self.work
    }

    /// Up to three names closest to `wanted` (nearest first, ties by name), within an edit
    /// distance of half its length (at least 2).
    pub fn close_matches(&mut self, wanted: &str, names: &[String]) -> Vec<String> {
        let limit = (wanted.len() / 2).max(2);
        let a: Vec<char> = wanted.chars().collect();
        let mut best: Vec<(usize, &String)> = Vec::with_capacity(4);
        for n in names {
            if self.work >= SUGGESTION_WORK {
                break;
            }
            let cutoff = if best.len() == 3 { best[2].0 } else { limit };
            let b: Vec<char> = n.chars().collect();
            let Some(d) = bounded_distance(&a, &b, cutoff, &mut self.work) else {
                continue;
            };
            let at = best.partition_point(|x| *x <= (d, n));
            if at < 3 {
                best.insert(at, (d, n));
                best.truncate(3);
            }
        }
        best.into_iter().map(|(_, n)| n.clone()).collect()
    }
}

/// Up to three names closest to `wanted`, for "did you mean" hints (one search, full budget).
pub fn close_matches(wanted: &str, names: &[String]) -> Vec<String> {
    Suggester::new().close_matches(wanted, names)
}

/// The edit distance between `a` and `b` when it is at most `k`, computing only the band of the
/// table within `k` of its diagonal and stopping once a whole row exceeds `k`.
fn bounded_distance(a: &[char], b: &[char], k: usize, work: &mut u64) -> Option<usize> {
    if a.len().abs_diff(b.len()) > k {
        return None;
    }
    let n = b.len();
    let over = k + 1;
    let mut prev: Vec<usize> = (0..=n).map(|j| j.min(over)).collect();
    let mut cur = vec![over; n + 1];
    for i in 1..=a.len() {
        let lo = i.saturating_sub(k).max(1);
        let hi = (i + k).min(n);
        cur[0] = i.min(over);
        if lo > 1 {
            cur[lo - 1] = over;
        }
        let mut row_min = cur[0];
        for j in lo..=hi {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let v = (prev[j - 1] + cost)
                .min(prev[j] + 1)
                .min(cur[j - 1] + 1)
                .min(over);
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if hi < n {
            cur[hi + 1] = over;
        }
        *work += (hi + 1).saturating_sub(lo) as u64;
        if row_min > k {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    (prev[n] <= k).then_some(prev[n])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain quadratic distance, to check the banded one against.
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                cur.push(
                    (prev[j] + usize::from(ca != *cb))
                        .min(prev[j + 1] + 1)
                        .min(cur[j] + 1),
                );
            }
            prev = cur;
        }
        prev[b.len()]
    }

    #[test]
    fn banded_distance_agrees_with_the_full_table_within_the_band() {
        let words = [
            "",
            "a",
            "ab",
            "locality",
            "localty",
            "lcoality",
            "need_per_head",
            "in_house",
            "providers.essex.services.bi.capacity",
            "providers.esex.services.bi.capacty",
        ];
        for a in words {
            for b in words {
                let d = distance(a, b);
                let (ca, cb): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
                for k in 0..12 {
                    let got = bounded_distance(&ca, &cb, k, &mut 0);
                    assert_eq!(got, (d <= k).then_some(d), "{a:?} {b:?} k={k}");
                }
            }
        }
    }

    #[test]
    fn close_matches_suggest_the_nearest_names() {
        let names = vec![
            "locality".to_string(),
            "need_per_head".to_string(),
            "in_house".to_string(),
        ];
        assert_eq!(
            close_matches("localty", &names),
            vec!["locality".to_string()]
        );
        let many: Vec<String> = ["abcd", "abce", "abcf", "abcg", "abc"]
            .map(String::from)
            .to_vec();
        assert_eq!(close_matches("abcx", &many), vec!["abc", "abcd", "abce"]);
    }

    #[test]
    fn many_misspelt_names_stay_within_the_work_budget() {
        let names: Vec<String> = (0..2000)
            .map(|i| format!("providers.csu-{i}.services.line-{}.capacity", i % 7))
            .collect();
        let mut s = Suggester::new();
        for i in 0..2000 {
            s.close_matches(
                &format!("providers.csu-{i}.services.lnie-9.capacty"),
                &names,
            );
        }
        // The budget bounds the work, whatever the number of names and questions.
        assert!(s.work_done() <= SUGGESTION_WORK + 200, "{}", s.work_done());
        // Early answers still get their hints.
        let mut fresh = Suggester::new();
        let hint = fresh.close_matches("providers.csu-3.services.line-3.capacty", &names);
        assert_eq!(hint[0], "providers.csu-3.services.line-3.capacity");
    }
}
