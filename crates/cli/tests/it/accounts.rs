//! Adding, listing, renaming and removing accounts, and codes checked against oathtool.

use std::process::Command;

use super::harness::{file_bytes, require_tool, Env};

const URI: &str = "otpauth://totp/Example:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example";

fn oathtool_totp(secret_b32: &str, alg: &str, digits: u8, period: u32, at: u64) -> String {
    let out = Command::new("oathtool")
        .args([
            format!("--totp={alg}"),
            "-b".into(),
            format!("--digits={digits}"),
            format!("--time-step-size={period}s"),
            format!("--now=@{at}"),
            secret_b32.into(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "oathtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn code_at_equals_oathtool_for_every_algorithm_digit_count_and_period() {
    require_tool("oathtool", "oathtool");
    let env = Env::new();
    // 160-, 256- and 512-bit secrets, as RFC 6238 pairs them with the three hashes.
    let secrets = [
        ("SHA1", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
        ("SHA256", "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZPIYTEMZUGU3DOOBZ"),
        ("SHA512", "ONSWG4TFORSXGZLDOJSXI43FMNZGK5DTMVRXEZLUONSWG4TFORSXGZLDOJSXI43FMNZGK5DTMVRXEZLUONSWG4TFORSXGZLDOJSXI"),
    ];
    let mut cases = Vec::new();
    for (alg, secret) in secrets {
        for digits in [6u8, 7, 8] {
            for period in [30u32, 60, 1, 45] {
                let issuer = format!("{alg}-{digits}-{period}");
                let uri = format!(
                    "otpauth://totp/{issuer}:bob?secret={secret}&algorithm={alg}&digits={digits}&period={period}"
                );
                env.run(&["add", &uri]).success();
                cases.push((issuer, alg, secret, digits, period));
            }
        }
    }
    // Before 2038, at 2^32 s (past the 32-bit rollover) and in 2100.
    for at in [1_111_111_109u64, 4_294_967_396, 4_102_444_800] {
        for (issuer, alg, secret, digits, period) in &cases {
            let run = env
                .run(&[
                    "code",
                    &format!("{issuer}:bob"),
                    "--at",
                    &at.to_string(),
                    "--json",
                ])
                .success();
            let json = run.json();
            let ours = json["code"].as_str().unwrap();
            let theirs = oathtool_totp(secret, alg, *digits, *period, at);
            assert_eq!(ours, theirs, "{issuer} at {at}");
            let until = json["valid_until"].as_u64().unwrap();
            assert_eq!(until % u64::from(*period), 0);
            assert!(until > at && until - at <= u64::from(*period));
        }
    }
}

#[test]
fn hotp_code_advances_the_counter_and_matches_oathtool() {
    require_tool("oathtool", "oathtool");
    let env = Env::new();
    env.run(&[
        "add",
        "--issuer",
        "Bank",
        "--name",
        "me",
        "--type",
        "hotp",
        "--secret",
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        "--counter",
        "5",
        "--digits",
        "7",
    ])
    .success();
    for counter in 5..8 {
        let json = env.run(&["code", "Bank", "--json"]).success().json();
        assert_eq!(json["counter"], counter);
        let out = Command::new("oathtool")
            .args([
                "--hotp",
                "-b",
                "-d",
                "7",
                "-c",
                &counter.to_string(),
                "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
            ])
            .output()
            .unwrap();
        assert_eq!(
            json["code"].as_str().unwrap(),
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
    let list = env.run(&["list", "--json"]).success().json();
    assert_eq!(
        list[0]["counter"], 8,
        "three codes shown: the counter moved three times"
    );
}

#[test]
fn add_list_rename_remove() {
    let env = Env::new();
    let added = env
        .run(&["add", URI, "--json", "--group", "Work"])
        .success()
        .json();
    assert_eq!(added["issuer"], "Example");
    assert_eq!(added["name"], "alice@example.com");
    assert_eq!(added["groups"][0], "Work");
    assert!(
        added.get("secret").is_none(),
        "JSON never carries the secret"
    );
    env.run_stdin(
        &[
            "add",
            "--issuer",
            "GitHub",
            "--name",
            "alice",
            "--secret",
            "-",
            "--favourite",
        ],
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n",
    )
    .success();

    let list = env.run(&["list", "--json"]).success().json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["issuer"], "GitHub", "favourites come first");
    let text = env.run(&["list"]).success().stdout();
    assert!(
        !text.contains("JBSWY3DP") && !text.contains("GEZDGNBV"),
        "{text}"
    );

    // Duplicates are refused unless asked for.
    let dup = env.run(&["add", URI]).failure();
    assert!(
        dup.stderr().contains("already in the vault"),
        "{}",
        dup.stderr()
    );

    env.run(&["rename", "example", "--issuer", "Example Corp"])
        .success();
    assert!(env
        .accounts()
        .contains(&("Example Corp".into(), "alice@example.com".into())));

    // An ambiguous query is refused, naming the candidates.
    let amb = env.run(&["remove", "ali"]).failure();
    assert!(
        amb.stderr().contains("matches 2 accounts"),
        "{}",
        amb.stderr()
    );

    env.run(&["remove", "GitHub:alice"]).success();
    assert_eq!(
        env.accounts(),
        vec![("Example Corp".to_owned(), "alice@example.com".to_owned())]
    );
    env.run(&["code", "nothing-like-this"]).failure();
}

#[test]
fn malformed_input_never_changes_the_vault() {
    let env = Env::new();
    env.run(&["add", URI]).success();
    let before = file_bytes(&env.vault());
    let bad: &[(&[&str], &str)] = &[
        (&["add", "otpauth://totp/X:y?secret=NOT*BASE32"], "secret"),
        (
            &["add", "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP&digits=0"],
            "digits",
        ),
        (
            &[
                "add",
                "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP&period=-30",
            ],
            "period",
        ),
        (
            &[
                "add",
                "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
            ],
            "algorithm",
        ),
        (
            &[
                "add",
                "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP&secret=JBSWY3DPEHPK3PXP",
            ],
            "secret",
        ),
        (
            &["add", "https://example.com/?secret=JBSWY3DPEHPK3PXP"],
            "scheme",
        ),
        (&["add", "--issuer", "X", "--secret", ""], "secret"),
        (
            &[
                "add",
                "--issuer",
                "X",
                "--secret",
                "JBSWY3DPEHPK3PXP",
                "--digits",
                "11",
            ],
            "digits",
        ),
        (
            &[
                "add",
                "--issuer",
                "X",
                "--secret",
                "JBSWY3DPEHPK3PXP",
                "--algorithm",
                "MD5",
            ],
            "md5",
        ),
    ];
    for (args, field) in bad {
        let run = env.run(args).failure();
        assert!(
            run.stderr().to_lowercase().contains(field),
            "{args:?}: the error should name `{field}`: {}",
            run.stderr()
        );
        assert!(
            !run.stderr().contains("JBSWY3DPEHPK3PXP"),
            "no secret in errors: {}",
            run.stderr()
        );
    }
    let huge = format!(
        "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP&issuer={}",
        "a".repeat(5000)
    );
    env.run(&["add", &huge]).failure();
    assert_eq!(
        before,
        file_bytes(&env.vault()),
        "the vault file must be byte-for-byte unchanged"
    );
    assert_eq!(env.accounts().len(), 1);
}

#[test]
fn bad_percent_encoding_is_refused_and_nothing_is_added() {
    // Issue 10: `issuer=%G1` used to exit 0 and add an account with the issuer `%G1`.
    let env = Env::new();
    env.run(&["add", URI]).success();
    let before = file_bytes(&env.vault());
    for (uri, field) in [
        (
            "otpauth://totp/X:a?secret=JBSWY3DPEHPK3PXP&issuer=%G1",
            "invalid issuer",
        ),
        (
            "otpauth://totp/X:a?secret=JBSWY3DPEHPK3PXP&issuer=X%0D%0A",
            "invalid issuer",
        ),
        (
            "otpauth://totp/X:a%00?secret=JBSWY3DPEHPK3PXP",
            "invalid label",
        ),
        (
            "otpauth://totp/X:a%FF?secret=JBSWY3DPEHPK3PXP",
            "invalid label",
        ),
        (
            "otpauth://totp/X:a%4?secret=JBSWY3DPEHPK3PXP",
            "invalid label",
        ),
        (
            "otpauth://totp/X:a?secret=JBSWY3DPEHPK3PX%",
            "invalid secret",
        ),
        (
            "otpauth://totp/X:a?secret=JBSWY3DPEHPK3PXP&period=30%0A",
            "invalid period",
        ),
        (
            "otpauth://totp/X:a?secret=JBSWY3DPEHPK3PXP&image=%ZZ",
            "`image`",
        ),
    ] {
        let run = env.run(&["add", uri]).failure();
        assert!(
            run.stderr().contains(field),
            "{uri}: the error should say `{field}`: {}",
            run.stderr()
        );
        assert!(
            !run.stderr().contains("JBSWY3DP"),
            "no secret in errors: {}",
            run.stderr()
        );
    }
    // The same decoder reads URI lists and Google's migration URIs on import.
    let list = env.path("list.txt");
    for (text, says) in [
        (
            "otpauth://totp/X:b?secret=JBSWY3DPEHPK3PXP\notpauth://totp/X:a?secret=JBSWY3DPEHPK3PXP&issuer=%G1\n",
            "line 2: invalid issuer",
        ),
        ("otpauth-migration://offline?data=%G1\n", "invalid data"),
    ] {
        std::fs::write(&list, text).unwrap();
        let run = env
            .run(&["import", list.to_str().unwrap(), "--format", "uri-list"])
            .failure();
        assert!(run.stderr().contains(says), "{text}: {}", run.stderr());
    }
    assert_eq!(env.accounts().len(), 1, "nothing was added");
    assert_eq!(before, file_bytes(&env.vault()), "the vault is unchanged");
}

#[test]
fn wrong_passphrase_and_missing_vault_are_clear_errors() {
    let env = Env::new();
    let missing = env.run(&["list"]).failure();
    assert!(
        missing.stderr().contains("no vault"),
        "{}",
        missing.stderr()
    );
    assert!(!env.vault().exists(), "listing must not create a vault");

    env.run(&["add", URI]).success();
    let before = file_bytes(&env.vault());
    std::fs::write(env.path("wrong"), "not the passphrase\n").unwrap();
    let run = tessera_with_pass(&env, "wrong", &["list"]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr).to_lowercase();
    assert!(err.contains("passphrase"), "{err}");
    assert_eq!(before, file_bytes(&env.vault()));

    std::fs::write(
        env.path("garbage.sqlite3"),
        b"this is not a database at all, not even close",
    )
    .unwrap();
    let out = Command::new(super::harness::bin())
        .args(["--vault"])
        .arg(env.path("garbage.sqlite3"))
        .arg("--passphrase-file")
        .arg(env.path("pass"))
        .arg("list")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        std::fs::read(env.path("garbage.sqlite3")).unwrap(),
        b"this is not a database at all, not even close",
        "a file that is not a vault is never overwritten"
    );
}

fn tessera_with_pass(env: &Env, pass: &str, args: &[&str]) -> std::process::Output {
    Command::new(super::harness::bin())
        .arg("--vault")
        .arg(env.vault())
        .arg("--passphrase-file")
        .arg(env.path(pass))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn keyring_unavailable_is_a_clear_error_and_creates_nothing() {
    let env = Env::new();
    let out = Command::new(super::harness::bin())
        .arg("--vault")
        .arg(env.vault())
        .arg("init")
        .env_remove("TESSERA_PASSPHRASE_FILE")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/tessera-test-bus",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("keyring"), "{err}");
    assert!(
        err.contains("passphrase file"),
        "the error says what to do instead: {err}"
    );
    assert!(!env.vault().exists(), "no half-made vault");
    assert_eq!(
        std::fs::read_dir(env.dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );

    // A passphrase vault asked to open through the keyring says which key it needs.
    env.run(&["init"]).success();
    let out = Command::new(super::harness::bin())
        .arg("--vault")
        .arg(env.vault())
        .arg("list")
        .env_remove("TESSERA_PASSPHRASE_FILE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unlocked by passphrase"));
}
