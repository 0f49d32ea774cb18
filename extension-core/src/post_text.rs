//! Finding a post by its whole text, as the platforms render it.
//!
//! A feed or profile never shows the text exactly as it was typed: emoji
//! become `<img alt>` (the DOM agent reads the `alt`), links are shortened
//! (`example.com/path…`, `t.co/…`, `lnkd.in/…`), visually hidden words are
//! added (the agent drops them), and white space and line breaks differ.
//! [`post_text_pattern`] turns a post's text into a JavaScript regular
//! expression that the agent tests against an element's rendered text
//! (see `renderedText` in `static/dom-agent.js`): every word of the post, in
//! order, nothing else on the lines it fills. A prefix is never enough.

use unicode_normalization::UnicodeNormalization;

/// Characters that render differently or not at all (variation selectors,
/// zero-width joiners and spaces, BOM); dropped on both sides.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{fe0e}' | '\u{fe0f}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}'
    )
}

/// The comparable form of a text: NFC, invisible characters dropped.
pub fn comparable(text: &str) -> String {
    text.nfc().filter(|c| !is_invisible(*c)).collect()
}

/// Link shorteners whose links show nothing of the original URL.
const SHORTENERS: &str =
    r"(?:t\.co|lnkd\.in|bit\.ly|fb\.me|ow\.ly|buff\.ly|tinyurl\.com|vm\.tiktok\.com)";

/// How many characters of a link's path are compared one by one; the rest
/// of a very long link is taken as shown.
const PATH_CHARS: usize = 60;

/// Escapes a literal for a JavaScript (and Rust `regex`) pattern.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '^' | '$' | '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A link as the platforms may show it: with or without scheme and `www.`,
/// cut anywhere after the host with an ellipsis, or as a shortener's link.
fn link_pattern(url: &str) -> String {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, path) = rest.split_at(split);
    let host = host.strip_prefix("www.").unwrap_or(host);
    // Each further character is optional from there on: "a(?:b(?:c)?)?".
    let chars: Vec<char> = path.chars().collect();
    let compared = chars.len().min(PATH_CHARS);
    let mut tail = String::new();
    if chars.len() > compared {
        tail.push_str(r"\S*");
    }
    for c in chars[..compared].iter().rev() {
        tail = format!("(?:{}{tail})?", escape(&c.to_string()));
    }
    format!(
        r"(?:(?:https?://)?(?:www\.)?{host}{tail}(?:…|\.\.\.)?|(?:https?://)?{SHORTENERS}/\S+)",
        host = escape(host)
    )
}

fn is_link(token: &str) -> bool {
    token.starts_with("https://") || token.starts_with("http://")
}

/// The JavaScript regular expression (no flags) that a rendered text must
/// match for it to show this post: the post's words in order, any white
/// space between them, links as shown or shortened, and the match
/// filling whole lines (it starts at a line start and ends at a line end).
pub fn post_text_pattern(text: &str) -> String {
    let text = comparable(text);
    let mut out = String::from(r"(?:^|\n)[^\S\n]*");
    for (i, token) in text.split_whitespace().enumerate() {
        if i > 0 {
            out.push_str(r"\s*");
        }
        if is_link(token) {
            // Trailing punctuation is usually not part of the link.
            let end = token.trim_end_matches(['.', ',', ')', '!', '?', ';', ':']);
            out.push_str(&link_pattern(end));
            out.push_str(&escape(&token[end.len()..]));
        } else {
            out.push_str(&escape(token));
        }
    }
    out.push_str(r"[^\S\n]*(?:\n|$)");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shows(text: &str, rendered: &str) -> bool {
        let re = regex::Regex::new(&post_text_pattern(text)).expect("valid pattern");
        re.is_match(&comparable(rendered))
    }

    #[test]
    fn the_whole_text_is_needed_not_a_prefix() {
        let post = "Launch day! Claw Post is live.";
        assert!(shows(post, "Launch day! Claw Post is live."));
        assert!(shows(
            post,
            "Claw Test\n@clawtest · 1m\nLaunch day! Claw Post is live.\n12 Likes"
        ));
        assert!(!shows(post, "Launch day! Claw Post is live. (beta)"));
        assert!(!shows(post, "Launch day!"));
        assert!(!shows("Launch day!", "Launch day! Claw Post is live."));
        assert!(!shows(post, "Earlier: Launch day! Claw Post is live."));
    }

    #[test]
    fn white_space_and_line_breaks_may_differ() {
        let post = "First line\n\nSecond   line\nthird";
        assert!(shows(post, "First line\nSecond line\nthird"));
        assert!(shows(post, "First line Second line third"));
        assert!(shows(post, "  First line\u{a0}\n\n\nSecond line\n third  "));
        assert!(!shows(post, "First line\nSecond line"));
    }

    #[test]
    fn emoji_from_image_alts_match_with_or_without_variation_selectors() {
        let post = "Love it ❤️ 👋🏽 👨‍👩‍👧";
        // The agent puts each <img alt> in place of the image.
        assert!(shows(post, "Love it ❤ 👋🏽 👨👩👧"));
        assert!(shows(post, "Love it ❤️ 👋🏽 👨‍👩‍👧"));
        assert!(!shows(post, "Love it 👋🏽 👨‍👩‍👧"));
    }

    #[test]
    fn shortened_links_match_by_what_is_shown() {
        let post = "Docs: https://www.clawpost.net/docs/x?ref=e2e&lang=en thanks";
        assert!(shows(
            post,
            "Docs: https://www.clawpost.net/docs/x?ref=e2e&lang=en thanks"
        ));
        assert!(shows(post, "Docs: clawpost.net/docs/x?ref=e2e… thanks"));
        assert!(shows(post, "Docs: clawpost.net/docs/x?ref=e... thanks"));
        assert!(shows(post, "Docs: clawpost.net thanks"));
        assert!(shows(post, "Docs: https://t.co/AbC123xyz thanks"));
        assert!(shows(post, "Docs: https://lnkd.in/eXyZ thanks"));
        // Another host, or a path that is not this link's, is another post.
        assert!(!shows(post, "Docs: example.com/docs/x… thanks"));
        assert!(!shows(post, "Docs: clawpost.net/blog… thanks"));
        // Trailing punctuation stays outside the link.
        assert!(shows("See https://a.example/x.", "See a.example/x."));
    }

    #[test]
    fn hashtags_mentions_and_regex_characters_are_literal() {
        let post = "Price (USD): $5.00 [beta] {x} a|b ^_^ #ai @clawtest 1+1=2? *yes*";
        assert!(shows(post, post));
        assert!(!shows(
            post,
            "Price (USD): $5X00 [beta] {x} a|b ^_^ #ai @clawtest 1+1=2? *yes*"
        ));
    }

    #[test]
    fn nfc_and_nfd_forms_are_the_same_text() {
        assert!(shows("Café crème", "Cafe\u{301} cre\u{300}me"));
    }

    #[test]
    fn very_long_links_stay_bounded() {
        let url = format!("https://example.com/{}", "a".repeat(500));
        let p = post_text_pattern(&format!("x {url}"));
        assert!(p.len() < 4_000, "{}", p.len());
        assert!(shows(&format!("x {url}"), &format!("x {url}")));
        assert!(shows(&format!("x {url}"), "x example.com/aaaa…"));
    }
}
