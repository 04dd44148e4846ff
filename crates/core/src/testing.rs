//! For test suites whose checks need something outside the program: a cross-checking tool, a
//! desktop session, a real keyring. Such a check is skipped where that is missing, saying why,
//! except in CI, where a skipped check would pass without checking anything.

/// Whether a check that needs `what` (e.g. "`sqlite3` (apt-get install sqlite3)") may run.
///
/// `available` says whether it is there. When it is not: under CI (`CI` set to `true` or `1`,
/// as CI services and `.ci/run` do) this panics, so the test fails and names what to install;
/// elsewhere it prints `SKIPPED: …` and returns `false`, and the test returns early.
#[allow(
    clippy::panic,
    reason = "failing the calling test is this helper's job"
)]
pub fn prerequisite(available: bool, what: &str) -> bool {
    match decide(available, std::env::var("CI").ok().as_deref()) {
        Decision::Run => true,
        Decision::Fail => panic!(
            "{what} is missing: in CI every check runs, so install it (scripts/install-deps.sh)"
        ),
        Decision::Skip => {
            eprintln!("SKIPPED: {what} is missing");
            false
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Run,
    Skip,
    Fail,
}

fn decide(available: bool, ci: Option<&str>) -> Decision {
    if available {
        Decision::Run
    } else if matches!(ci, Some("true" | "1")) {
        Decision::Fail
    } else {
        Decision::Skip
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_prerequisite_fails_in_ci_and_skips_elsewhere() {
        assert_eq!(decide(true, Some("true")), Decision::Run);
        assert_eq!(decide(true, None), Decision::Run);
        assert_eq!(decide(false, Some("true")), Decision::Fail);
        assert_eq!(decide(false, Some("1")), Decision::Fail);
        assert_eq!(decide(false, None), Decision::Skip);
        assert_eq!(decide(false, Some("false")), Decision::Skip);
    }
}
