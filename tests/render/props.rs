//! Property tests: no string makes the renderer panic, and a successful
//! rendering is always a PDF with at least the cover page.

use mmr::render::Limits;
use proptest::prelude::*;

use super::support::try_render;

fn limits() -> Limits {
    Limits { max_markdown_bytes: 64 * 1024, max_pages: 200, ..Limits::default() }
}

/// Fragments that exercise Markdown syntax more often than random text would.
fn markdownish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("# ".to_string()),
        Just("\n".to_string()),
        Just("\n\n".to_string()),
        Just("> ".to_string()),
        Just("- ".to_string()),
        Just("1. ".to_string()),
        Just("- [x] ".to_string()),
        Just("| a | b |\n|---|:-:|\n| c | d |\n".to_string()),
        Just("```\n".to_string()),
        Just("    ".to_string()),
        Just("*".to_string()),
        Just("**".to_string()),
        Just("~~".to_string()),
        Just("`".to_string()),
        Just("[^1]".to_string()),
        Just("[^1]: note\n".to_string()),
        Just("[link](https://x.org)".to_string()),
        Just("![img](a.png)".to_string()),
        Just("<b>".to_string()),
        Just("---\n".to_string()),
        Just("  \n".to_string()),
        "[a-zA-Zéß ]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        if let Ok(r) = try_render(&s, None, &[], &limits()) {
            prop_assert!(r.pdf.starts_with(b"%PDF-1.7"));
            prop_assert!(r.page_count >= 2);
        }
    }

    #[test]
    fn markdown_like_strings_never_panic(s in markdownish(), plan in markdownish()) {
        if let Ok(r) = try_render(&s, Some(&plan), &[], &limits()) {
            prop_assert!(r.pdf.starts_with(b"%PDF-1.7"));
        }
    }
}
