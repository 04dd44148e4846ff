//! `tessera device …` without a server: argument and link errors are one clear line.

use super::harness::Env;

#[test]
fn device_list_on_a_new_vault_is_empty() {
    let env = Env::new();
    env.run(&["add", "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP"])
        .success();
    let out = env.run(&["device", "list", "--json"]).success();
    assert_eq!(out.json(), serde_json::json!([]));
}

#[test]
fn a_bad_enrollment_link_is_refused_in_one_line() {
    let env = Env::new();
    let run = env
        .run(&[
            "device",
            "enroll",
            "tessera://enroll?v=2&origin=https%3A%2F%2Fa.example",
        ])
        .failure();
    assert!(run.stderr().contains("enrollment link"), "{}", run.stderr());
    let run = env
        .run(&["device", "enroll", "tessera://enroll?v=1&origin=http%3A%2F%2Fevil.example&code=AAAAAAAAAAAAAAAAAAAAAAAAAAAA&algs=ES256&sk=x"])
        .failure();
    assert!(
        run.stderr().contains("https"),
        "plain http only on loopback: {}",
        run.stderr()
    );
}

#[test]
fn a_link_with_bad_percent_encoding_names_the_parameter() {
    let env = Env::new();
    for (args, says) in [
        (
            ["device", "enroll", "tessera://enroll?v=1&origin=https%3A%2F%2Fa.example%G1&code=AAAAAAAAAAAAAAAAAAAAAAAAAAAA&algs=ES256&sk=x"],
            "`origin`",
        ),
        (
            ["device", "enroll", "tessera://enroll?v=1&origin=https%3A%2F%2Fa.example&code=AAAAAAAAAAAAAAAAAAAAAAAAAAAA&algs=ES256&sk=x&user=a%0Ab"],
            "`user`",
        ),
        (
            ["device", "qr-login", "tessera://qr-login?v=1&origin=https%3A%2F%2Fa.example&lsi=AB%00&sk=x"],
            "`lsi`",
        ),
    ] {
        let run = env.run(&args).failure();
        assert!(run.stderr().contains(says), "{args:?}: {}", run.stderr());
    }
}

#[test]
fn approving_needs_a_number_and_a_known_device() {
    let env = Env::new();
    env.run(&["device", "watch", "--approve"]).failure();
    env.run(&["add", "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP"])
        .success();
    let run = env.run(&["device", "remove", "dev_nope"]).failure();
    assert!(
        run.stderr().contains("no enrollment with device id"),
        "{}",
        run.stderr()
    );
    let run = env
        .run(&["device", "watch", "--deny", "--timeout", "1"])
        .failure();
    assert!(
        run.stderr().contains("not enrolled with any server"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_transaction_id_starting_with_a_dash_is_an_id_not_a_flag() {
    // Transaction ids are base64url: one in 32 starts with `-`.
    let env = Env::new();
    env.run(&["add", "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP"])
        .success();
    for args in [
        &["device", "approve", "-mSstWeoOK9dn7jD", "--number", "12"][..],
        &["device", "deny", "-mSstWeoOK9dn7jD"][..],
    ] {
        let run = env.run(args).failure();
        assert!(
            run.stderr().contains("not enrolled with any server"),
            "the id reached the command: {}",
            run.stderr()
        );
    }
}
