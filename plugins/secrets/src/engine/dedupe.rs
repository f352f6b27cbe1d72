//! De-duplication. Its rule: of candidates that overlap, one is kept — the higher `priority` (a vendor rule's
//! 50 over a generic rule's 10, +1 for a value found by base64 decoding), then the longer secret, then the
//! rule listed first. Empty locations (path rules) overlap only the same rule at the same place. Each
//! candidate is compared with at most the last 33 kept, so a file dense with findings stays linear.

use super::Cand;

fn better(a: &Cand, b: &Cand) -> bool {
    // true if a should be kept over b
    (a.priority, a.secret.len(), std::cmp::Reverse(a.rule)) > (b.priority, b.secret.len(), std::cmp::Reverse(b.rule))
}

pub(super) fn dedupe(mut cands: Vec<Cand>) -> Vec<Cand> {
    cands.sort_by_key(|c| (c.loc.0, c.loc.1));
    let mut kept: Vec<Cand> = Vec::with_capacity(cands.len());
    'outer: for c in cands {
        let mut j = kept.len();
        let mut replace: Vec<usize> = Vec::new();
        while j > 0 {
            j -= 1;
            let k = &kept[j];
            let overlap = if k.loc.0 == k.loc.1 || c.loc.0 == c.loc.1 {
                k.loc == c.loc && k.rule == c.rule
            } else {
                k.loc.0 < c.loc.1 && c.loc.0 < k.loc.1
            };
            if overlap {
                if better(k, &c) || (k.rule == c.rule && k.loc == c.loc && k.priority >= c.priority) {
                    continue 'outer;
                }
                replace.push(j);
            }
            if kept.len() - j > 32 {
                break;
            }
        }
        for j in replace {
            kept.remove(j); // indices are in descending order
        }
        kept.push(c);
    }
    kept
}
