//! Whether to apply a plan: declaration changes always are; drift (the server changed while the declaration
//! did not) follows the drift policy.

use dbprov_api::v1alpha1::DriftMode;

/// What to do with a computed plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Run the statements.
    Apply,
    /// Leave the server as it is and report the drift (`detect`).
    Report,
    /// Leave the server as it is and say nothing (`ignore`).
    Ignore,
}

/// `exists`: the server object existed before (a missing object is always created, whatever the policy:
/// an empty database or a user without privileges is never worse than none). `spec_changed`: the declaration
/// changed since it was last applied (or never was).
pub fn decide(exists: bool, spec_changed: bool, mode: DriftMode) -> Decision {
    if !exists || spec_changed {
        return Decision::Apply;
    }
    match mode {
        DriftMode::Correct => Decision::Apply,
        DriftMode::Detect => Decision::Report,
        DriftMode::Ignore => Decision::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declaration_changes_and_creation_always_apply() {
        for mode in [DriftMode::Ignore, DriftMode::Detect, DriftMode::Correct] {
            assert_eq!(decide(false, false, mode), Decision::Apply);
            assert_eq!(decide(true, true, mode), Decision::Apply);
        }
    }

    #[test]
    fn drift_follows_the_policy() {
        assert_eq!(decide(true, false, DriftMode::Correct), Decision::Apply);
        assert_eq!(decide(true, false, DriftMode::Detect), Decision::Report);
        assert_eq!(decide(true, false, DriftMode::Ignore), Decision::Ignore);
    }
}
