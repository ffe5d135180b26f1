//! Sets of byte ranges in a transcript, always in TLSNotary's normal form: sorted, non-empty, neither
//! overlapping nor touching. Sets arriving in any other form are refused rather than normalised, so that one
//! set has exactly one encoding (what is hashed is what was sent).

use alloc::string::String;
use alloc::vec::Vec;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSet(Vec<(u64, u64)>);

impl RangeSet {
    /// `pairs` as a set, if they are already normalised (each `start < end`, each `end < next start`).
    pub fn from_normalized(pairs: Vec<(u64, u64)>) -> Result<Self, String> {
        for (i, &(start, end)) in pairs.iter().enumerate() {
            if start >= end {
                return Err(alloc::format!("range {start}..{end} is empty or reversed"));
            }
            if i > 0 && pairs[i - 1].1 >= start {
                return Err(alloc::format!(
                    "ranges are not sorted and disjoint ({}..{} then {start}..{end})",
                    pairs[i - 1].0,
                    pairs[i - 1].1
                ));
            }
        }
        Ok(RangeSet(pairs))
    }

    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.0
    }

    /// How many positions the set covers.
    pub fn len(&self) -> u64 {
        self.0.iter().map(|(s, e)| e - s).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One past the largest position, 0 for the empty set.
    pub fn end(&self) -> u64 {
        self.0.last().map_or(0, |r| r.1)
    }

    /// The positions of `0..total` outside the set.
    pub fn complement(&self, total: u64) -> RangeSet {
        let mut out = Vec::new();
        let mut at = 0;
        for &(s, e) in &self.0 {
            if s > at {
                out.push((at, s));
            }
            at = e;
        }
        if total > at {
            out.push((at, total));
        }
        RangeSet(out)
    }

    /// The union of the sets, normalised.
    pub fn union<'a>(sets: impl IntoIterator<Item = &'a RangeSet>) -> RangeSet {
        let mut all: Vec<(u64, u64)> = sets.into_iter().flat_map(|s| s.0.iter().copied()).collect();
        all.sort_unstable();
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(all.len());
        for (s, e) in all {
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        RangeSet(out)
    }

    /// The bytes at the positions of `subset`, taken from `data`, which holds the bytes of this set's positions
    /// in order. `None` when `subset` reaches outside this set.
    pub fn gather(&self, data: &[u8], subset: &RangeSet) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let (mut i, mut offset) = (0usize, 0u64); // current range of self and where its bytes start in data
        for &(s, e) in &subset.0 {
            while i < self.0.len() && self.0[i].1 <= s {
                offset += self.0[i].1 - self.0[i].0;
                i += 1;
            }
            let &(rs, re) = self.0.get(i)?;
            if s < rs || e > re {
                return None;
            }
            let from = usize::try_from(offset + (s - rs)).ok()?;
            let to = usize::try_from(offset + (e - rs)).ok()?;
            out.extend_from_slice(data.get(from..to)?);
        }
        Some(out)
    }
}
