//! Where a chunk's copies go: weighted rendezvous hashing over the eligible volumes.
//!
//! Every volume gets a score from a hash of (chunk id, volume id) divided by its weight
//! (its free bytes): `-ln(u) / weight`, the smallest wins. This is Ceph CRUSH's `straw2`
//! (src/crush/mapper.c `bucket_straw2_choose`): the choice is deterministic, a volume's
//! share of new chunks follows its weight, and adding or removing a volume only moves
//! the chunks that score best on it. The volumes sorted by score are an ordered list;
//! the first volume of each failure domain comes first (so copies land in distinct
//! domains whenever there are enough), then the rest in score order, which is where a
//! failed write or a repair goes next.

use uuid::Uuid;

/// A volume as placement sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Volume id.
    pub id: Uuid,
    /// Failure domain (volumes in one domain fail together).
    pub domain: &'a str,
    /// Relative weight (free bytes); zero weights count as one.
    pub weight: u64,
}

/// The candidates ordered for chunk `chunk`: one volume per failure domain first (in score
/// order), then the others (in score order). Returns indices into `candidates`.
pub fn order(chunk: Uuid, candidates: &[Candidate<'_>]) -> Vec<usize> {
    let mut scored: Vec<(f64, usize)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (score(chunk, c), i))
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut seen_domains: Vec<&str> = Vec::new();
    let (mut first, mut rest) = (Vec::new(), Vec::new());
    for (_, i) in scored {
        let domain = candidates[i].domain;
        if seen_domains.contains(&domain) {
            rest.push(i);
        } else {
            seen_domains.push(domain);
            first.push(i);
        }
    }
    first.extend(rest);
    first
}

/// `-ln(u) / weight` with `u` uniform in (0, 1] from the hash of both ids.
fn score(chunk: Uuid, c: &Candidate<'_>) -> f64 {
    let h = mix(chunk.as_u128() ^ mix(c.id.as_u128()) as u128);
    // 53 random bits, never zero.
    let u = ((h >> 11) + 1) as f64 / (1u64 << 53) as f64;
    -u.ln() / c.weight.max(1) as f64
}

/// A 128-to-64-bit mixer (splitmix64 finalizer over both halves): stable across builds
/// and platforms, which `std`'s hasher does not promise.
fn mix(x: u128) -> u64 {
    fn splitmix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    splitmix(splitmix(x as u64) ^ (x >> 64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n as u128)
            .map(|i| Uuid::from_u128(i * 7919 + 1))
            .collect()
    }

    #[test]
    fn the_order_is_deterministic_and_complete() {
        let vols = ids(5);
        let cands: Vec<_> = vols
            .iter()
            .map(|&id| Candidate {
                id,
                domain: "d",
                weight: 100,
            })
            .collect();
        let chunk = Uuid::from_u128(42);
        let a = order(chunk, &cands);
        assert_eq!(a, order(chunk, &cands));
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn distinct_domains_come_first() {
        let vols = ids(6);
        let domains = ["a", "a", "a", "b", "b", "c"];
        let cands: Vec<_> = vols
            .iter()
            .zip(domains)
            .map(|(&id, domain)| Candidate {
                id,
                domain,
                weight: 1 << 30,
            })
            .collect();
        for n in 0..200u128 {
            let o = order(Uuid::from_u128(n), &cands);
            let mut first: Vec<&str> = o[..3].iter().map(|&i| domains[i]).collect();
            first.sort();
            assert_eq!(first, ["a", "b", "c"], "chunk {n}: {o:?}");
        }
    }

    #[test]
    fn shares_follow_the_weights() {
        let vols = ids(3);
        let weights = [1u64 << 30, 1 << 30, 2 << 30];
        let cands: Vec<_> = vols
            .iter()
            .zip(weights)
            .map(|(&id, weight)| Candidate {
                id,
                domain: "same",
                weight,
            })
            .collect();
        let mut firsts = [0u32; 3];
        for n in 0..20_000u128 {
            firsts[order(
                Uuid::from_u128(n.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                &cands,
            )[0]] += 1;
        }
        // Expected shares 1/4, 1/4, 1/2.
        assert!((4_400..5_600).contains(&firsts[0]), "{firsts:?}");
        assert!((4_400..5_600).contains(&firsts[1]), "{firsts:?}");
        assert!((9_400..10_600).contains(&firsts[2]), "{firsts:?}");
    }

    #[test]
    fn adding_a_volume_moves_only_what_it_wins() {
        let vols = ids(4);
        let cands: Vec<_> = vols
            .iter()
            .map(|&id| Candidate {
                id,
                domain: "d",
                weight: 1000,
            })
            .collect();
        let mut moved = 0;
        for n in 0..2_000u128 {
            let chunk = Uuid::from_u128(n * 31 + 7);
            let before = cands[order(chunk, &cands[..3])[0]].id;
            let after = cands[order(chunk, &cands)[0]].id;
            if before != after {
                assert_eq!(after, cands[3].id, "a chunk moved between old volumes");
                moved += 1;
            }
        }
        assert!((300..700).contains(&moved), "{moved} of 2000 moved");
    }
}
