//! The server's texts for people in English and Japanese (docs/i18n.md).
//!
//! Catalogues are Project Fluent resources, one file per surface and language, embedded in the
//! binary: `locales/{en,ja}/{signin,account,admin,errors,mail}.ftl`. Message ids carry their
//! surface as a prefix (`signin-…`, `account-…`, `admin-…`, `error-<code>`, `mail-…`), so one
//! bundle per language holds them all.
//!
//! The web pages are rendered per language on the server: [`render_page`] replaces
//! `{{message-id}}` markers in the page's HTML with the escaped text, `{{lang}}` with the
//! language tag, and `{{i18n}}` (inside a `<script type="application/json" id="i18n">` block,
//! data the browser never executes) with a JSON object of the page's messages and the error
//! messages, variables left as `{name}` for the page's script to fill.
//!
//! The language of a request ([`negotiate`]): the signed-in user's saved choice, then the
//! `tessera_lang` cookie the pages' language switcher sets, then `Accept-Language`, then English.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::HeaderMap;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_syntax::ast;

/// The cookie of the pages' language switcher (`en` or `ja`).
pub const LANG_COOKIE: &str = "tessera_lang";

/// A language of the server's texts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// English (the default).
    #[default]
    En,
    /// Japanese.
    Ja,
}

/// Every language, in the order the switchers list them.
pub const LOCALES: [Locale; 2] = [Locale::En, Locale::Ja];

impl Locale {
    /// The BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ja => "ja",
        }
    }

    /// From a tag (`ja`, `ja-JP`, `en-US`, any case); `None` for other languages.
    pub fn parse(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("");
        match primary.to_ascii_lowercase().as_str() {
            "en" => Some(Locale::En),
            "ja" => Some(Locale::Ja),
            _ => None,
        }
    }

    /// The first of `en`, `ja` an `Accept-Language` header prefers (by q-value, then order);
    /// `None` when it names neither.
    pub fn from_accept_language_opt(header: Option<&str>) -> Option<Locale> {
        let h = header?;
        let mut best: Option<(f32, usize, Locale)> = None;
        for (i, part) in h.split(',').enumerate() {
            let mut it = part.trim().split(';');
            let Some(loc) = Locale::parse(it.next().unwrap_or("")) else {
                continue;
            };
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|v| v.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            let better = match best {
                None => true,
                Some((bq, bi, _)) => q > bq || (q == bq && i < bi),
            };
            if better {
                best = Some((q, i, loc));
            }
        }
        best.map(|(_, _, l)| l)
    }

    /// Like [`Locale::from_accept_language_opt`], English when neither is named.
    pub fn from_accept_language(header: Option<&str>) -> Locale {
        Self::from_accept_language_opt(header).unwrap_or_default()
    }

    fn index(self) -> usize {
        match self {
            Locale::En => 0,
            Locale::Ja => 1,
        }
    }
}

/// The language of a request: `user_setting` (the signed-in user's saved choice), then the
/// [`LANG_COOKIE`], then `Accept-Language`, then English.
pub fn negotiate(headers: &HeaderMap, user_setting: Option<&str>) -> Locale {
    user_setting
        .and_then(Locale::parse)
        .or_else(|| crate::device::http::cookie(headers, LANG_COOKIE).and_then(Locale::parse))
        .or_else(|| {
            Locale::from_accept_language_opt(
                headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
            )
        })
        .unwrap_or_default()
}

// ------------------------------------------------------------------ catalogues

/// The catalogue files: (surface, English source, Japanese source).
pub const SOURCES: &[(&str, &str, &str)] = &[
    (
        "signin",
        include_str!("../../locales/en/signin.ftl"),
        include_str!("../../locales/ja/signin.ftl"),
    ),
    (
        "account",
        include_str!("../../locales/en/account.ftl"),
        include_str!("../../locales/ja/account.ftl"),
    ),
    (
        "admin",
        include_str!("../../locales/en/admin.ftl"),
        include_str!("../../locales/ja/admin.ftl"),
    ),
    (
        "errors",
        include_str!("../../locales/en/errors.ftl"),
        include_str!("../../locales/ja/errors.ftl"),
    ),
    (
        "mail",
        include_str!("../../locales/en/mail.ftl"),
        include_str!("../../locales/ja/mail.ftl"),
    ),
];

struct Catalogue {
    bundle: FluentBundle<FluentResource>,
    /// Every message id, with its surface's file.
    ids: BTreeMap<String, &'static str>,
}

fn build(locale: Locale) -> Catalogue {
    // Plural rules follow the language ("1 code", "2 codes"); both tags are valid.
    let lang = locale
        .tag()
        .parse::<unic_langid::LanguageIdentifier>()
        .unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![lang]);
    // No Unicode isolation marks around placeables: the texts go into HTML text nodes and
    // plain-text mails, where the marks would only be noise (no right-to-left language here).
    bundle.set_use_isolating(false);
    let mut ids = BTreeMap::new();
    for (file, en, ja) in SOURCES {
        let source = match locale {
            Locale::En => *en,
            Locale::Ja => *ja,
        };
        // A resource with syntax errors keeps its good entries; the unit tests refuse errors.
        let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(r, _)| r);
        for entry in resource.entries() {
            if let ast::Entry::Message(m) = entry {
                ids.insert(m.id.name.to_owned(), *file);
            }
        }
        // Duplicate ids across files: the first wins (the unit tests refuse duplicates).
        let _ = bundle.add_resource(resource);
    }
    Catalogue { bundle, ids }
}

fn catalogue(locale: Locale) -> &'static Catalogue {
    static CATALOGUES: OnceLock<[Catalogue; 2]> = OnceLock::new();
    let all = CATALOGUES.get_or_init(|| [build(Locale::En), build(Locale::Ja)]);
    match locale {
        Locale::En => &all[0],
        Locale::Ja => &all[1],
    }
}

/// The variables a pattern uses (`$name` → `name`), selectors included.
fn pattern_variables<'s>(p: &ast::Pattern<&'s str>, out: &mut BTreeSet<&'s str>) {
    for el in &p.elements {
        if let ast::PatternElement::Placeable { expression } = el {
            expression_variables(expression, out);
        }
    }
}

fn expression_variables<'s>(e: &ast::Expression<&'s str>, out: &mut BTreeSet<&'s str>) {
    match e {
        ast::Expression::Inline(i) => inline_variables(i, out),
        ast::Expression::Select { selector, variants } => {
            inline_variables(selector, out);
            for v in variants {
                pattern_variables(&v.value, out);
            }
        }
    }
}

fn inline_variables<'s>(i: &ast::InlineExpression<&'s str>, out: &mut BTreeSet<&'s str>) {
    match i {
        ast::InlineExpression::VariableReference { id } => {
            out.insert(id.name);
        }
        ast::InlineExpression::Placeable { expression } => expression_variables(expression, out),
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            for a in &arguments.positional {
                inline_variables(a, out);
            }
            for n in &arguments.named {
                inline_variables(&n.value, out);
            }
        }
        _ => {}
    }
}

/// The variables of message `id` in `locale` (empty when it has none or does not exist).
pub fn variables(locale: Locale, id: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(p) = catalogue(locale)
        .bundle
        .get_message(id)
        .and_then(|m| m.value())
    {
        pattern_variables(p, &mut out);
    }
    out.into_iter().map(str::to_owned).collect()
}

/// Whether message `id` exists in `locale`.
pub fn has(locale: Locale, id: &str) -> bool {
    catalogue(locale).bundle.has_message(id)
}

/// Every message id of `locale`, with the surface whose file holds it.
pub fn ids(locale: Locale) -> &'static BTreeMap<String, &'static str> {
    &catalogue(locale).ids
}

fn format(locale: Locale, id: &str, args: Option<&FluentArgs>) -> Option<String> {
    let c = catalogue(locale);
    let pattern = c.bundle.get_message(id)?.value()?;
    let mut errors = Vec::new();
    let text = c.bundle.format_pattern(pattern, args, &mut errors);
    Some(text.into_owned())
}

/// Message `id` in `locale` with its variables: the English text when Japanese lacks it, the
/// id itself when neither has it (the unit tests make sure every id used exists in both).
pub fn text(locale: Locale, id: &str, vars: &[(&str, &str)]) -> String {
    let mut args = FluentArgs::new();
    for (k, v) in vars {
        args.set(*k, FluentValue::from(*v));
    }
    format(locale, id, Some(&args))
        .or_else(|| format(Locale::En, id, Some(&args)))
        .unwrap_or_else(|| id.to_owned())
}

/// Like [`text`] with a number variable (plural forms select on it).
pub fn text_n(locale: Locale, id: &str, name: &str, n: u64) -> String {
    let mut args = FluentArgs::new();
    args.set(name, FluentValue::from(n));
    format(locale, id, Some(&args))
        .or_else(|| format(Locale::En, id, Some(&args)))
        .unwrap_or_else(|| id.to_owned())
}

/// The message as the pages' script fills it: every variable left as `{name}`.
fn template(locale: Locale, id: &str) -> Option<String> {
    let c = catalogue(locale);
    let pattern = c.bundle.get_message(id)?.value()?;
    let mut names = BTreeSet::new();
    pattern_variables(pattern, &mut names);
    let mut args = FluentArgs::new();
    for n in &names {
        args.set(*n, FluentValue::from(format!("{{{n}}}")));
    }
    let mut errors = Vec::new();
    Some(
        c.bundle
            .format_pattern(pattern, Some(&args), &mut errors)
            .into_owned(),
    )
}

/// The messages a page's script may show: those of `page` and the error messages, as templates.
pub fn page_messages(page: &str, locale: Locale) -> BTreeMap<String, String> {
    let prefix = format!("{page}-");
    let en = catalogue(Locale::En);
    en.ids
        .keys()
        .filter(|id| id.starts_with(&prefix) || id.starts_with("error-"))
        .filter_map(|id| {
            template(locale, id)
                .or_else(|| template(Locale::En, id))
                .map(|t| (id.clone(), t))
        })
        .collect()
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script type="application/json">` element: no `<`, `>` or `&` that could
/// close it or start markup.
fn script_json(messages: &BTreeMap<String, String>) -> String {
    serde_json::to_string(messages)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// A page's HTML in `locale`, rendered now (what [`render_page`] keeps in memory).
pub fn render(html: &str, page: &str, locale: Locale) -> String {
    render_uncached(html, page, locale)
}

fn render_uncached(html: &str, page: &str, locale: Locale) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 2);
    let mut rest = html;
    while let Some(start) = rest.find("{{") {
        let (before, after) = rest.split_at(start);
        out.push_str(before);
        let marker = after.get(2..).unwrap_or("");
        let Some(end) = marker.find("}}") else {
            out.push_str(after);
            rest = "";
            break;
        };
        let id = marker.get(..end).unwrap_or("").trim();
        match id {
            "lang" => out.push_str(locale.tag()),
            "i18n" => out.push_str(&script_json(&page_messages(page, locale))),
            _ => {
                let t = template(locale, id)
                    .or_else(|| template(Locale::En, id))
                    .unwrap_or_else(|| id.to_owned());
                out.push_str(&escape_html(&t));
            }
        }
        rest = marker.get(end.saturating_add(2)..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// A page's HTML in `locale` (see the module's documentation). Rendered once per page and
/// language, then served from memory.
pub fn render_page(html: &'static str, page: &'static str, locale: Locale) -> Arc<str> {
    type Cache = Mutex<HashMap<(&'static str, usize), Arc<str>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (page, locale.index());
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return hit;
    }
    let rendered: Arc<str> = Arc::from(render_uncached(html, page, locale));
    if let Ok(mut c) = cache.lock() {
        c.insert(key, Arc::clone(&rendered));
    }
    rendered
}

/// The `{{id}}` markers of a page's HTML (not `lang` and `i18n`).
pub fn markers(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("{{") {
        let marker = rest.get(start.saturating_add(2)..).unwrap_or("");
        let Some(end) = marker.find("}}") else { break };
        let id = marker.get(..end).unwrap_or("").trim();
        if id != "lang" && id != "i18n" {
            out.push(id);
        }
        rest = marker.get(end.saturating_add(2)..).unwrap_or("");
    }
    out
}

/// The ids a page's script passes to `t("…")` as literals.
pub fn script_ids(script: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for quote in ["t(\"", "t('"] {
        let close = if quote.ends_with('"') { '"' } else { '\'' };
        let mut rest = script;
        while let Some(i) = rest.find(quote) {
            // `t(` must not be the end of a longer name (`split(`, `format(`).
            let prev = rest
                .get(..i)
                .and_then(|b| b.chars().next_back())
                .unwrap_or(' ');
            let after = rest.get(i.saturating_add(quote.len())..).unwrap_or("");
            if !(prev.is_alphanumeric() || prev == '_' || prev == '.' || prev == '$') {
                if let Some(end) = after.find(close) {
                    out.push(after.get(..end).unwrap_or(""));
                }
            }
            rest = after;
        }
    }
    out
}

#[cfg(test)]
mod tests;
