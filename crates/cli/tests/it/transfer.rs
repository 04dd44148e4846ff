//! `tessera import` and `tessera export`: round trips, all-or-nothing imports, duplicates.

use super::harness::{file_bytes, Env};

const LIST: &str = "# exported by hand\n\
otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=GitHub\n\
\n\
otpauth://hotp/Bank:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=7&digits=8\n\
otpauth://totp/Cloud:carol?secret=MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK&algorithm=SHA512&period=60\n";

fn listed(env: &Env) -> Vec<serde_json::Value> {
    let mut v = env
        .run(&["list", "--json"])
        .success()
        .json()
        .as_array()
        .unwrap()
        .clone();
    for a in &mut v {
        let o = a.as_object_mut().unwrap();
        o.remove("id");
        o.remove("created_at");
        o.remove("last_used_at");
    }
    v
}

#[test]
fn uri_list_import_then_every_export_round_trips() {
    let env = Env::new();
    std::fs::write(env.path("list.txt"), LIST).unwrap();
    let report = env
        .run(&["import", env.path("list.txt").to_str().unwrap(), "--json"])
        .success()
        .json();
    assert_eq!(report["format"], "uri-list");
    assert_eq!(report["imported"].as_array().unwrap().len(), 3);
    let original = listed(&env);

    // Importing the same file again: everything is a duplicate, nothing added.
    let again = env
        .run(&["import", env.path("list.txt").to_str().unwrap(), "--json"])
        .success()
        .json();
    assert_eq!(again["duplicates"].as_array().unwrap().len(), 3);
    assert_eq!(listed(&env).len(), 3);

    std::fs::write(env.path("bpass"), "backup password\n").unwrap();
    let bpass = env.path("bpass").to_str().unwrap().to_owned();
    for format in [
        "uri-list",
        "migration",
        "aegis",
        "aegis-encrypted",
        "backup",
    ] {
        let encrypted = matches!(format, "backup" | "aegis-encrypted");
        let out = env.path(&format!("out-{format}"));
        let mut args = vec!["export", out.to_str().unwrap(), "--format", format];
        if encrypted {
            args.extend(["--password-file", bpass.as_str()]);
        }
        if format == "backup" {
            args.push("--verify");
        }
        env.run(&args).success();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let bytes = std::fs::read(&out).unwrap();
        if encrypted {
            assert!(
                !String::from_utf8_lossy(&bytes).contains("JBSWY3DP"),
                "{format} leaks"
            );
            assert!(
                !String::from_utf8_lossy(&bytes).contains("alice"),
                "{format} leaks names"
            );
        }

        let fresh = Env::new();
        std::fs::copy(&out, fresh.path("in")).unwrap();
        let input = fresh.path("in").to_str().unwrap().to_owned();
        let mut imp = vec!["import", input.as_str()];
        if encrypted {
            imp.extend(["--password-file", bpass.as_str()]);
        }
        fresh.run(&imp).success();
        // Google's format carries 30-second periods only: the 60-second account stays behind
        // (and `export` said so).
        let expected: Vec<_> = original
            .iter()
            .filter(|a| format != "migration" || a["period"] != 60)
            .cloned()
            .collect();
        assert_eq!(listed(&fresh), expected, "round trip through {format}");
    }

    // Google export as QR images: zbarimg (independent) reads them back to migration URIs
    // that import what was exported.
    let stem = env.path("google");
    env.run(&[
        "export",
        stem.to_str().unwrap(),
        "--format",
        "migration-png",
    ])
    .success();
    let png = env.path("google-1.png");
    let z = std::process::Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(&png)
        .output()
        .unwrap();
    let text = String::from_utf8(z.stdout).unwrap();
    assert!(
        text.starts_with("otpauth-migration://offline?data="),
        "{text}"
    );
    let fresh = Env::new();
    std::fs::write(fresh.path("scanned.txt"), &text).unwrap();
    fresh
        .run(&["import", fresh.path("scanned.txt").to_str().unwrap()])
        .success();
    assert_eq!(listed(&fresh).len(), 2);
    let html = env.path("google.html");
    env.run(&[
        "export",
        html.to_str().unwrap(),
        "--format",
        "migration-html",
    ])
    .success();
    assert!(std::fs::read_to_string(&html).unwrap().contains("<img"));
}

#[test]
fn a_bad_line_imports_nothing_and_names_the_line() {
    let env = Env::new();
    env.run(&[
        "add",
        "otpauth://totp/Keep:me?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    ])
    .success();
    let before = file_bytes(&env.vault());
    let bad = format!("{LIST}otpauth://totp/Bad:x?secret=JBSWY3DPEHPK3PXP&digits=99\n");
    std::fs::write(env.path("bad.txt"), bad).unwrap();
    let run = env
        .run(&["import", env.path("bad.txt").to_str().unwrap()])
        .failure();
    assert!(run.stderr().contains("line 6"), "{}", run.stderr());
    assert!(run.stderr().contains("digits"), "{}", run.stderr());
    assert_eq!(file_bytes(&env.vault()), before);

    std::fs::write(env.path("junk.bin"), [0u8, 159, 146, 150]).unwrap();
    let run = env
        .run(&["import", env.path("junk.bin").to_str().unwrap()])
        .failure();
    assert!(run.stderr().contains("not recognised"), "{}", run.stderr());
    assert_eq!(file_bytes(&env.vault()), before);
}

#[test]
fn wrong_backup_password_is_refused_and_nothing_written() {
    let env = Env::new();
    env.run(&[
        "add",
        "otpauth://totp/A:a?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    ])
    .success();
    std::fs::write(env.path("p1"), "right\n").unwrap();
    std::fs::write(env.path("p2"), "wrong\n").unwrap();
    let out = env.path("b.tsbk");
    env.run(&[
        "export",
        out.to_str().unwrap(),
        "--format",
        "backup",
        "--password-file",
        env.path("p1").to_str().unwrap(),
    ])
    .success();
    // Refuses to overwrite without --force.
    env.run(&["export", out.to_str().unwrap(), "--format", "uri-list"])
        .failure();

    let other = Env::new();
    other.run(&["init"]).success();
    let before = file_bytes(&other.vault());
    let run = other
        .run(&[
            "import",
            out.to_str().unwrap(),
            "--password-file",
            env.path("p2").to_str().unwrap(),
        ])
        .failure();
    assert!(run.stderr().contains("wrong password"), "{}", run.stderr());
    let run = other.run(&["import", out.to_str().unwrap()]).failure();
    assert!(run.stderr().contains("password"), "{}", run.stderr());
    assert_eq!(file_bytes(&other.vault()), before);
}
