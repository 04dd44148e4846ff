//! Checks every browser page the server serves (the hosted sign-in, the account center, the
//! admin console) must pass: what the Content-Security-Policy forbids is not needed, every
//! element the script looks up exists and is documented, and the texts come from the
//! catalogues. One list of pages, one test per rule; the catalogues' own completeness is
//! `i18n::tests`.

/// A page: its catalogue surface, HTML, main script, and the ids its script builds from a
/// prefix (`$("step-" + name)`) that the HTML must hold.
pub(crate) struct Page {
    /// The catalogue (`locales/*/{surface}.ftl`) and the page's name in messages.
    pub surface: &'static str,
    /// The HTML, whose header comment lists the element ids tests rely on.
    pub html: &'static str,
    /// The page's script.
    pub script: &'static str,
    /// Ids the HTML must have although the script names them by prefix only.
    pub prefixed_ids: &'static [&'static str],
}

/// Every page rendered through the catalogues.
pub(crate) const PAGES: &[Page] = &[
    Page {
        surface: "signin",
        html: include_str!("signin/assets/signin.html"),
        script: include_str!("signin/assets/signin.js"),
        prefixed_ids: &[
            "step-loading",
            "step-identifier",
            "step-verify",
            "step-enroll",
            "step-recovery-codes",
            "step-done",
            "step-signed-out",
            "step-denied",
            "step-expired",
        ],
    },
    Page {
        surface: "account",
        html: include_str!("account/assets/account.html"),
        script: include_str!("account/assets/account.js"),
        prefixed_ids: &[],
    },
    Page {
        surface: "admin",
        html: include_str!("admin/assets/admin.html"),
        script: include_str!("admin/assets/admin.js"),
        prefixed_ids: &[],
    },
];

/// Scripts shared by the pages.
const SHARED_SCRIPTS: &[(&str, &str)] =
    &[("webauthn.js", include_str!("signin/assets/webauthn.js"))];

/// The ids a script looks up with `$("…")`.
fn looked_up(script: &str) -> Vec<&str> {
    script
        .match_indices("$(\"")
        .filter_map(|(i, _)| {
            let rest = script.get(i + 3..)?;
            rest.get(..rest.find('"')?)
        })
        .collect()
}

/// The CSP forbids inline script and style: the HTML must not need them, or the page would
/// break silently in the browser. No script writes HTML from strings either.
#[test]
fn no_page_needs_inline_script_style_handlers_or_html_sinks() {
    for page in PAGES {
        let name = page.surface;
        let lower = page.html.to_lowercase();
        assert!(!lower.contains("<style"), "{name}: no <style> element");
        assert!(!lower.contains(" style="), "{name}: no style attribute");
        for (i, _) in lower.match_indices("<script") {
            let tag = &lower[i..i + lower[i..].find('>').unwrap()];
            assert!(
                tag.contains(" src=") || tag.contains("type=\"application/json\""),
                "{name}: every script is external (or data the browser never runs): {tag}"
            );
        }
        let handler = lower
            .split(|c: char| c.is_whitespace())
            .find(|w| w.starts_with("on") && w.contains('='));
        assert_eq!(handler, None, "{name}: no inline event handler attribute");
    }
    let scripts = PAGES
        .iter()
        .map(|p| (p.surface, p.script))
        .chain(SHARED_SCRIPTS.iter().copied());
    for (name, script) in scripts {
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
        ] {
            assert!(!script.contains(sink), "{name}: no HTML sink ({sink})");
        }
        assert!(!script.contains("eval("), "{name}: no eval");
    }
}

/// Every id a script looks up is in its HTML (a renamed element would otherwise fail at run
/// time only) and listed in the HTML's header comment, which the browser tests rely on.
#[test]
fn every_id_a_script_uses_is_in_its_html_and_documented() {
    for page in PAGES {
        let name = page.surface;
        let (comment, body) = page.html.split_once("-->").unwrap();
        let ids = looked_up(page.script);
        assert!(
            ids.len() > 20,
            "{name}: the script looks up its elements by id"
        );
        for id in ids {
            if id.ends_with('-') {
                assert!(
                    page.prefixed_ids.iter().any(|p| p.starts_with(id)),
                    "{name}: ids made from the prefix {id} are listed in PAGES"
                );
                continue;
            }
            assert!(
                body.contains(&format!("id=\"{id}\"")),
                "#{id} is used by {name}.js but not in {name}.html"
            );
            assert!(
                comment.contains(id) || id.ends_with("-title"),
                "{name}: #{id} is listed in the HTML's header comment"
            );
        }
        for id in page.prefixed_ids {
            assert!(body.contains(&format!("id=\"{id}\"")), "{name}: #{id}");
        }
    }
}

/// Every text a page shows comes from the catalogues: the HTML's texts are markers, the script
/// takes its texts from the rendered #i18n block through `t()` and has no English sentence of
/// its own (a text is an id, an error is a code).
#[test]
fn every_page_takes_its_texts_from_the_catalogue() {
    for page in PAGES {
        let name = page.surface;
        assert!(
            page.script
                .contains(r#"JSON.parse(document.getElementById("i18n").textContent)"#),
            "{name}: reads the #i18n block"
        );
        for (n, line) in page.script.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") || code.starts_with('*') || code.starts_with("/*") {
                continue;
            }
            for lit in code.split('"').skip(1).step_by(2) {
                let words = lit
                    .split(' ')
                    .filter(|w| w.len() > 1 && w.chars().all(|c| c.is_ascii_alphabetic()))
                    .count();
                assert!(
                    words < 3,
                    "{name}.js line {}: English text in the script: {lit:?}",
                    n + 1
                );
            }
        }
        let (_, body) = page.html.split_once("-->").unwrap();
        for piece in body.split('>').skip(1) {
            let text = piece.split('<').next().unwrap_or("").trim();
            let allowed = [
                "",
                "Tessera",
                "English",
                "日本語",
                "·",
                ":",
                "/100 —",
                "—",
                "/",
            ];
            assert!(
                allowed.contains(&text) || (text.starts_with("{{") && text.ends_with("}}")),
                "{name}.html: a text that is not a catalogue marker: {text:?}"
            );
        }
    }
}

/// The pages share the desktop app's design tokens (ui/src/tokens.css, served in front of
/// signin.css): every variable a page's stylesheet uses is defined there or in that
/// stylesheet, and every colour of the light theme has its dark counterpart.
#[test]
fn the_pages_use_the_desktop_apps_design_tokens() {
    const TOKENS: &str = include_str!("../../../ui/src/tokens.css");
    const SHEETS: &[(&str, &str)] = &[
        ("signin.css", include_str!("signin/assets/signin.css")),
        ("account.css", include_str!("account/assets/account.css")),
        ("admin.css", include_str!("admin/assets/admin.css")),
    ];
    let defined = |css: &str| -> Vec<String> {
        css.lines()
            .filter_map(|l| {
                let l = l.trim_start();
                l.starts_with("--")
                    .then(|| l[..l.find(':').unwrap_or(l.len())].to_owned())
            })
            .collect()
    };
    let tokens = defined(TOKENS);
    assert!(tokens.len() > 20, "{tokens:?}");
    for (name, css) in SHEETS {
        assert!(
            defined(css).iter().all(|v| !tokens.contains(v)),
            "{name} redefines a shared token"
        );
        let own = defined(css);
        let mut used = 0;
        for (i, _) in css.match_indices("var(--") {
            let rest = &css[i + 4..];
            let var = &rest[..rest.find([')', ',']).unwrap()];
            assert!(
                tokens.iter().chain(&own).any(|t| t == var),
                "{name} uses {var}, which ui/src/tokens.css does not define"
            );
            used += 1;
        }
        assert!(used > 0 || *name == "admin.css", "{name} uses the tokens");
    }
    // Light (the first :root block) and dark (the prefers-color-scheme block) define the same
    // colours.
    let (light, dark) = TOKENS
        .split_once("@media (prefers-color-scheme: dark)")
        .unwrap();
    let colours = |css: &str| -> Vec<String> {
        defined(css)
            .into_iter()
            .filter(|v| css.contains(&format!("{v}: #")))
            .collect()
    };
    let dark = dark.split("\n}\n").next().unwrap();
    let mut l = colours(light);
    let mut d = colours(dark);
    l.sort();
    d.sort();
    assert_eq!(l, d, "each light colour has a dark one");
}
