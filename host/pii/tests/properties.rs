//! Properties of the PII filter that must hold for every input: round trip, determinism, kind
//! separation, rejection of tampered and cut tokens, and a stream restorer whose output does not
//! depend on how the body is cut into chunks.

use std::sync::{Arc, LazyLock};

use connector_pii::canonical::Canonicalizer;
use connector_pii::keyring::Keyring;
use connector_pii::restore::{Context, Restorer, restore_all};
use connector_pii::token::{self, PREFIX_STR};
use connector_pii::{Kind, Tokenizer};
use proptest::prelude::*;

static TOKENIZER: LazyLock<Arc<Tokenizer>> =
    LazyLock::new(|| Arc::new(Tokenizer::new(Keyring::generate().expect("keyring"), Canonicalizer::new(None))));
static STRANGER: LazyLock<Tokenizer> =
    LazyLock::new(|| Tokenizer::new(Keyring::generate().expect("keyring"), Canonicalizer::new(None)));

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(Kind::ALL.to_vec())
}

/// Values as UEMs send them: mostly printable, sometimes with markup, quotes and non-ASCII.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9 .'@+()-]{1,40}",
        "\\PC{1,60}",
        Just("<img src=x onerror=alert(1)>".to_string()),
        Just("\"}];alert(1)//</script>".to_string()),
    ]
    .prop_filter("not empty once trimmed", |v| !v.trim().is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_gives_the_canonical_value(kind in kind(), value in value()) {
        let token = TOKENIZER.tokenize(kind, &value).expect("tokenize");
        let revealed = TOKENIZER.reveal(&token).expect("reveal");
        prop_assert_eq!(revealed.kind, kind);
        let canonical = Canonicalizer::new(None).canonical(kind, &value).into_owned();
        prop_assert_eq!(&*revealed.value, canonical.as_str());
        prop_assert!(token.bytes().all(token::is_alphabet), "{}", token);
    }

    #[test]
    fn tokens_are_deterministic_and_kinds_apart(a in kind(), b in kind(), value in value()) {
        let first = TOKENIZER.tokenize(a, &value).expect("tokenize");
        prop_assert_eq!(&first, &TOKENIZER.tokenize(a, &value).expect("tokenize"));
        if a != b {
            prop_assert_ne!(&first, &TOKENIZER.tokenize(b, &value).expect("tokenize"));
        }
    }

    #[test]
    fn any_changed_character_is_rejected(kind in kind(), value in value(), at in any::<prop::sample::Index>(), to in "[A-Za-z0-9_-]") {
        let token = TOKENIZER.tokenize(kind, &value).expect("tokenize");
        let mut bytes = token.clone().into_bytes();
        let i = PREFIX_STR.len() + at.index(bytes.len() - PREFIX_STR.len());
        let to = to.as_bytes()[0];
        prop_assume!(bytes[i] != to);
        bytes[i] = to;
        let tampered = String::from_utf8(bytes).expect("ascii");
        prop_assert!(TOKENIZER.reveal(&tampered).is_err(), "{} opened", tampered);
    }

    #[test]
    fn cut_and_foreign_tokens_are_rejected(kind in kind(), value in value(), cut in any::<prop::sample::Index>()) {
        let token = TOKENIZER.tokenize(kind, &value).expect("tokenize");
        let cut = cut.index(token.len());
        prop_assert!(TOKENIZER.reveal(&token[..cut]).is_err());
        let foreign = STRANGER.tokenize(kind, &value).expect("tokenize");
        prop_assert!(TOKENIZER.reveal(&foreign).is_err());
    }

    #[test]
    fn chunking_never_changes_the_output(
        parts in prop::collection::vec((any::<bool>(), "[ -~]{0,30}", kind(), value()), 1..12),
        cuts in prop::collection::vec(1usize..97, 1..40),
    ) {
        // A body of text, tokens, cut tokens, and near-prefixes ("pii", "pii1_x").
        let mut body = String::new();
        let mut expected = String::new();
        for (whole, text, kind, value) in &parts {
            body.push_str(text);
            expected.push_str(text);
            let token = TOKENIZER.tokenize(*kind, value).expect("tokenize");
            if *whole {
                body.push_str(&token);
                expected.push_str(&Canonicalizer::new(None).canonical(*kind, value));
            } else {
                let cut = &token[..token.len() / 2];
                body.push_str(cut);
                body.push(' ');
                expected.push_str(cut);
                expected.push(' ');
            }
        }
        let (whole, _) = restore_all(TOKENIZER.clone(), Context::PlainText, body.as_bytes());
        prop_assert_eq!(String::from_utf8_lossy(&whole), expected.as_str());

        for context in [Context::PlainText, Context::JsonString, Context::Html] {
            let (whole, whole_stats) = restore_all(TOKENIZER.clone(), context, body.as_bytes());
            let mut restorer = Restorer::new(TOKENIZER.clone(), context);
            let mut out = Vec::new();
            let mut rest = body.as_bytes();
            for cut in cuts.iter().cycle() {
                if rest.is_empty() { break; }
                let (chunk, tail) = rest.split_at((*cut).min(rest.len()));
                restorer.push(chunk, &mut out);
                rest = tail;
            }
            let stats = restorer.finish(&mut out);
            prop_assert_eq!(&out, &whole);
            prop_assert_eq!(stats, whole_stats);
        }
    }
}

#[test]
fn restored_markup_is_inert_wherever_it_lands() {
    let evil = "<img src=x onerror=alert(1)>";
    let token = TOKENIZER.tokenize(Kind::DeviceName, evil).expect("tokenize");
    let url = TOKENIZER.tokenize(Kind::DeviceName, "javascript:alert(1)").expect("tokenize");
    let page = format!(
        "<html><body><h1>{token}</h1><div title=\"{token}\" data-x={token}><a href=\"{url}\">x</a></div>\
         <button onclick=\"show('{token}')\">b</button><script>var d = {{\"name\": \"{token}\"}};</script></body></html>"
    );
    let (out, stats) = restore_all(TOKENIZER.clone(), Context::Html, page.as_bytes());
    let out = String::from_utf8(out).expect("utf-8");
    assert_eq!(stats.restored, 6, "{out}");
    assert!(!out.contains("<img"), "{out}");
    // In attributes nothing can end the value; in text, `onerror=` is only words.
    assert!(out.contains("title=\"&lt;img&#32;src&#61;x&#32;onerror&#61;alert(1)&gt;\""), "{out}");
    assert!(!out.contains("javascript:"), "{out}");
    assert!(out.contains("<h1>&lt;img src=x onerror=alert(1)&gt;</h1>"), "{out}");
    assert!(out.contains("href=\"javascript%3Aalert%281%29\""), "{out}");

    // A `javascript:` URL is decoded before it runs: the quote must not come back out of it.
    let quote = TOKENIZER.tokenize(Kind::DeviceName, "');alert(1)//").expect("tokenize");
    let page = format!(
        "<a href=\"javascript:show('{quote}')\">x</a><iframe srcdoc=\"{token}\"></iframe>\
         <script>var s = \"</scripts>\"; var t = \"{quote}\";</script>"
    );
    let (out, stats) = restore_all(TOKENIZER.clone(), Context::Html, page.as_bytes());
    let out = String::from_utf8(out).expect("utf-8");
    assert_eq!(stats.restored, 3, "{out}");
    assert!(out.contains("javascript:show('%5Cu0027%5Cu0029%5Cu003balert%5Cu00281%5Cu0029%5Cu002f%5Cu002f')"), "{out}");
    assert!(out.contains("srcdoc=\"\\u003cimg"), "{out}");
    assert!(out.contains("var t = \"\\u0027\\u0029\\u003balert"), "`</scripts` does not end the script: {out}");

    let json = format!("{{\"devices\":[{{\"name\":\"{token}\"}}]}}");
    let (out, _) = restore_all(TOKENIZER.clone(), Context::JsonString, json.as_bytes());
    let parsed: serde_json::Value = serde_json::from_slice(&out).expect("still JSON");
    assert_eq!(parsed["devices"][0]["name"], evil);
    assert!(!String::from_utf8_lossy(&out).contains('<'));
}

#[test]
fn foreign_and_broken_tokens_pass_through_counted() {
    let ours = TOKENIZER.tokenize(Kind::Email, "a@example.com").expect("tokenize");
    let foreign = STRANGER.tokenize(Kind::Email, "b@example.com").expect("tokenize");
    let body = format!("{ours} {foreign} pii1_notatoken {}", &ours[..20]);
    let (out, stats) = restore_all(TOKENIZER.clone(), Context::PlainText, body.as_bytes());
    assert_eq!(
        String::from_utf8(out).expect("utf-8"),
        format!("a@example.com {foreign} pii1_notatoken {}", &ours[..20])
    );
    assert_eq!(stats.restored, 1);
    assert_eq!(stats.foreign + stats.invalid, 3, "{stats:?}");
}
