//! The stale-write fence: `begin_read` hands out the current epoch; every invalidation takes a new
//! epoch and is remembered with it; a `set` carrying a token is refused when something remembered
//! after the token covers the key or one of its tags.
//!
//! Memory is bounded: at most [`FENCE_CAPACITY`] invalidations are remembered. Forgetting the
//! oldest one raises a floor, and tokens older than the floor are refused outright. That refusal
//! may be a false alarm, which is safe: the caller skips one cache write, never serves stale data.

use crate::error::{Error, Result};
use crate::keys::{covers, Pattern};
use std::collections::VecDeque;

/// How many recent invalidations the stale-write fence remembers before it starts refusing older
/// read tokens wholesale.
pub const FENCE_CAPACITY: usize = 4096;

/// Proof of when a read began, for a later [`set`](super::LruCache::set) of what was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReadToken(u64);

impl ReadToken {
    /// The epoch the token carries; a plain number, so bindings can hand it to JS.
    pub fn epoch(self) -> u64 {
        self.0
    }

    /// Rebuilds a token from [`ReadToken::epoch`]; a token from the future is refused by `set`.
    pub fn from_epoch(epoch: u64) -> ReadToken {
        ReadToken(epoch)
    }
}

pub(crate) enum Target {
    Key(Box<str>),
    Pattern(Pattern),
}

impl Target {
    fn covers(&self, key: &str, delimiter: char) -> bool {
        match self {
            Target::Key(k) => covers(k, key, delimiter),
            Target::Pattern(p) => p.covers(key, delimiter),
        }
    }
}

pub(crate) struct Fence {
    /// The epoch of the latest invalidation; tokens carry the epoch current when they were taken.
    epoch: u64,
    /// Tokens below the floor are refused: what invalidated them may have been forgotten.
    floor: u64,
    /// Invalidations in epoch order, oldest first.
    log: VecDeque<(u64, Target)>,
}

impl Fence {
    pub(crate) fn new() -> Fence {
        Fence { epoch: 0, floor: 0, log: VecDeque::new() }
    }

    pub(crate) fn token(&self) -> ReadToken {
        ReadToken(self.epoch)
    }

    /// Starts an invalidation; everything it records shares the returned epoch.
    pub(crate) fn advance(&mut self) -> u64 {
        self.epoch = self.epoch.saturating_add(1);
        self.epoch
    }

    pub(crate) fn record(&mut self, epoch: u64, target: Target) {
        if self.log.len() == FENCE_CAPACITY {
            if let Some((forgotten, _)) = self.log.pop_front() {
                self.floor = self.floor.max(forgotten);
            }
        }
        self.log.push_back((epoch, target));
    }

    /// Refuses every token taken so far (after `clear`, everything was invalidated).
    pub(crate) fn refuse_all(&mut self) {
        self.floor = self.advance();
        self.log.clear();
    }

    /// Whether a write of `key` tagged with `tags`, based on a read at `token`, is still fresh.
    pub(crate) fn check(&self, key: &str, tags: &[String], token: ReadToken, delimiter: char) -> Result<()> {
        if token.0 > self.epoch {
            return Err(Error::options(format!(
                "read token {} was not issued by this cache (its latest epoch is {})",
                token.0, self.epoch
            )));
        }
        let stale =
            token.0 < self.floor
                || self.log.iter().rev().take_while(|(e, _)| *e > token.0).any(|(_, t)| {
                    t.covers(key, delimiter) || tags.iter().any(|tag| t.covers(tag, delimiter))
                });
        if stale {
            return Err(Error::StaleWrite { key: key.to_owned() });
        }
        Ok(())
    }
}
