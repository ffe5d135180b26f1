//! The transcript proof: each opened hash secret must reproduce a plaintext commitment the notary signed, and
//! together the openings must cover exactly the bytes the proof reveals.

use alloc::vec::Vec;

use crate::error::{fail, Result};
use crate::hash::HashAlg;
use crate::ranges::RangeSet;
use crate::wire::{Body, ConnectionInfo, Direction, TranscriptProof};

/// What one direction of the transcript reveals: the bytes at `authenticated`, in order, out of `total`.
#[derive(Debug, Clone)]
pub struct Revealed {
    pub total: u64,
    pub authenticated: RangeSet,
    pub data: Vec<u8>,
}

pub fn verify(
    proof: &TranscriptProof,
    body: &Body,
    allowed: &[HashAlg],
) -> Result<(Revealed, Revealed)> {
    let info: &ConnectionInfo = &body.connection_info.data;
    let sent = revealed(
        Direction::Sent,
        &proof.sent_authed,
        &proof.sent_idx,
        proof.sent_total,
        info.sent,
    )?;
    let received = revealed(
        Direction::Received,
        &proof.received_authed,
        &proof.received_idx,
        proof.received_total,
        info.received,
    )?;
    let mut opened: [Vec<&RangeSet>; 2] = [Vec::new(), Vec::new()];
    for (i, secret) in proof.hash_secrets.iter().enumerate() {
        let side = match secret.direction {
            Direction::Sent => &sent,
            Direction::Received => &received,
        };
        let Some(plaintext) = side.authenticated.gather(&side.data, &secret.idx) else {
            fail!(
                Transcript,
                "hash secret {i} opens {} bytes that the proof does not reveal",
                secret.direction.as_str()
            );
        };
        let alg = crate::allowed_hash(secret.alg, allowed, "a transcript commitment")?;
        let digest = alg.digest(&[&plaintext, &secret.blinder]);
        let committed = body.transcript_commitments.iter().any(|c| {
            let c = &c.data;
            c.direction == secret.direction
                && c.idx == secret.idx
                && c.hash.alg == secret.alg
                && c.hash.value[..] == digest[..]
        });
        if !committed {
            fail!(Transcript, "the {} bytes opened by hash secret {i} do not match any commitment the notary signed",
                  secret.direction.as_str());
        }
        opened[(secret.direction == Direction::Received) as usize].push(&secret.idx);
    }
    for (side, sets) in [(&sent, &opened[0]), (&received, &opened[1])] {
        if RangeSet::union(sets.iter().copied()) != side.authenticated {
            let which = if core::ptr::eq(side, &sent) {
                "sent"
            } else {
                "received"
            };
            fail!(
                Transcript,
                "the revealed {which} bytes are not exactly the ones the hash secrets open"
            );
        }
    }
    Ok((sent, received))
}

fn revealed(
    direction: Direction,
    data: &[u8],
    idx: &RangeSet,
    total: u64,
    committed_total: u32,
) -> Result<Revealed> {
    let name = direction.as_str();
    if total != committed_total as u64 {
        fail!(
            Transcript,
            "the proof says {total} bytes were {name}, the attestation {committed_total}"
        );
    }
    if idx.end() > total {
        fail!(
            Transcript,
            "revealed {name} range ends at {}, past the {total} bytes of the transcript",
            idx.end()
        );
    }
    if data.len() as u64 != idx.len() {
        fail!(
            Transcript,
            "{} {name} bytes given for ranges covering {}",
            data.len(),
            idx.len()
        );
    }
    Ok(Revealed {
        total,
        authenticated: idx.clone(),
        data: data.to_vec(),
    })
}
