//! Why the node cannot make progress right now, as each stage last reported it: served by
//! `/readyz` and `/v1/status`, so that a node that is stuck says so instead of answering `ok`
//! (audit F11). A stage clears its entry when it moves again.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The stages' reports.
#[derive(Debug, Default)]
pub struct Health {
    blocked: Mutex<BTreeMap<&'static str, String>>,
}

impl Health {
    /// `stage` cannot make progress, for `why`.
    pub fn block(&self, stage: &'static str, why: impl Into<String>) {
        self.blocked.lock().unwrap_or_else(|p| p.into_inner()).insert(stage, why.into());
    }

    /// `stage` makes progress again.
    pub fn clear(&self, stage: &'static str) {
        self.blocked.lock().unwrap_or_else(|p| p.into_inner()).remove(stage);
    }

    /// Each blocked stage with why, in stage-name order.
    pub fn blocked(&self) -> Vec<(&'static str, String)> {
        self.blocked.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (*k, v.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_is_blocked_until_it_clears() {
        let h = Health::default();
        assert!(h.blocked().is_empty());
        h.block("prover", "job 3 failed");
        h.block("l1", "unreachable");
        h.block("prover", "job 4 failed");
        assert_eq!(h.blocked(), vec![("l1", "unreachable".to_string()), ("prover", "job 4 failed".to_string())]);
        h.clear("prover");
        assert_eq!(h.blocked(), vec![("l1", "unreachable".to_string())]);
    }
}
