//! Per-platform rules: text limits, media counts and media types. Defined
//! once here; the server validates with them, the extension and the MCP
//! `list_platforms` tool describe them.

use crate::media::{media_type_by_mime, MediaKind, MediaType, MEDIA_TYPES};
use crate::platform::Platform;
use serde::Serialize;
use std::fmt;
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

const KB: u64 = 1024;
const MB: u64 = 1024 * KB;
const GB: u64 = 1024 * MB;

/// How a platform counts the length of a post's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextCounting {
    /// X's weighted count (twitter-text v3): see [`x_weighted_length`].
    XWeighted,
    /// Unicode scalar values after NFC normalization.
    Chars,
}

/// What one platform accepts in a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformRules {
    pub platform: Platform,
    /// The longest text, as counted by `counting`.
    pub max_text: usize,
    pub counting: TextCounting,
    /// The fewest media items a post needs.
    pub min_media: usize,
    /// The most images (GIFs included) in a post; also the most items of any
    /// kind in one post.
    pub max_images: usize,
    /// The most videos in a post.
    pub max_videos: usize,
    /// Whether a post may carry videos and images together.
    pub allows_mixed: bool,
    /// The accepted MIME types (canonical, lowercase).
    pub media_types: &'static [&'static str],
    /// Size limits in bytes, by media kind.
    pub max_image_bytes: u64,
    pub max_gif_bytes: u64,
    pub max_video_bytes: u64,
    /// Whether jobs may carry a `platformPayload`.
    pub takes_platform_payload: bool,
    /// The default least time between two posts of one account on the
    /// platform, in milliseconds (the server adds up to 20 % jitter).
    pub min_post_interval_ms: u64,
}

/// Every platform's rules, in the order of [`Platform::ALL`] (which is also
/// the declaration order of [`Platform`], so `p as usize` indexes it).
static ALL_RULES: [PlatformRules; 5] = [
    PlatformRules {
        platform: Platform::X,
        max_text: 280,
        counting: TextCounting::XWeighted,
        min_media: 0,
        max_images: 4,
        max_videos: 1,
        allows_mixed: false,
        media_types: &[
            MediaType::JPEG.mime,
            MediaType::PNG.mime,
            MediaType::WEBP.mime,
            MediaType::GIF.mime,
            MediaType::MP4.mime,
            MediaType::QUICKTIME.mime,
        ],
        max_image_bytes: 5 * MB,
        max_gif_bytes: 15 * MB,
        max_video_bytes: 512 * MB,
        takes_platform_payload: false,
        min_post_interval_ms: 60_000,
    },
    PlatformRules {
        platform: Platform::Linkedin,
        max_text: 3000,
        counting: TextCounting::Chars,
        min_media: 0,
        max_images: 20,
        max_videos: 1,
        allows_mixed: false,
        media_types: COMMON_TYPES,
        max_image_bytes: 10 * MB,
        max_gif_bytes: 10 * MB,
        max_video_bytes: 5 * GB,
        takes_platform_payload: false,
        min_post_interval_ms: 120_000,
    },
    PlatformRules {
        platform: Platform::Facebook,
        max_text: 63206,
        counting: TextCounting::Chars,
        min_media: 0,
        max_images: 10,
        max_videos: 1,
        allows_mixed: true,
        media_types: COMMON_TYPES,
        max_image_bytes: 10 * MB,
        max_gif_bytes: 10 * MB,
        max_video_bytes: 10 * GB,
        takes_platform_payload: true,
        min_post_interval_ms: 120_000,
    },
    PlatformRules {
        platform: Platform::Tiktok,
        max_text: 2200,
        counting: TextCounting::Chars,
        min_media: 1,
        max_images: 35,
        max_videos: 1,
        allows_mixed: false,
        media_types: &[
            MediaType::MP4.mime,
            MediaType::QUICKTIME.mime,
            MediaType::WEBM.mime,
            MediaType::JPEG.mime,
            MediaType::PNG.mime,
            MediaType::WEBP.mime,
        ],
        max_image_bytes: 20 * MB,
        max_gif_bytes: 20 * MB,
        max_video_bytes: 4 * GB,
        takes_platform_payload: false,
        min_post_interval_ms: 300_000,
    },
    PlatformRules {
        platform: Platform::Instagram,
        max_text: 2200,
        counting: TextCounting::Chars,
        min_media: 1,
        max_images: 10,
        max_videos: 1,
        allows_mixed: true,
        media_types: &[
            MediaType::JPEG.mime,
            MediaType::PNG.mime,
            MediaType::HEIC.mime,
            MediaType::MP4.mime,
            MediaType::QUICKTIME.mime,
        ],
        max_image_bytes: 8 * MB,
        // Instagram takes no GIF; kept so every kind has a limit.
        max_gif_bytes: 8 * MB,
        max_video_bytes: 4 * GB,
        takes_platform_payload: false,
        min_post_interval_ms: 300_000,
    },
];

/// The types LinkedIn and Facebook accept.
const COMMON_TYPES: &[&str] = &[
    MediaType::JPEG.mime,
    MediaType::PNG.mime,
    MediaType::GIF.mime,
    MediaType::WEBP.mime,
    MediaType::MP4.mime,
    MediaType::QUICKTIME.mime,
];

/// The rules of one platform.
pub fn rules(p: Platform) -> &'static PlatformRules {
    &ALL_RULES[p as usize]
}

/// Every platform's rules, in the order of [`Platform::ALL`].
pub fn all_rules() -> &'static [PlatformRules] {
    &ALL_RULES
}

impl PlatformRules {
    /// The most media items of any kind in one post.
    pub fn max_media(&self) -> usize {
        self.max_images.max(self.max_videos)
    }

    /// The size limit in bytes for media of a kind.
    pub fn max_bytes(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Image => self.max_image_bytes,
            MediaKind::Gif => self.max_gif_bytes,
            MediaKind::Video => self.max_video_bytes,
        }
    }

    /// Whether the platform accepts a media type.
    pub fn accepts(&self, media_type: &MediaType) -> bool {
        self.media_types.contains(&media_type.mime)
    }

    /// The accepted media types, in the order of `media_types`.
    pub fn accepted_types(&self) -> impl Iterator<Item = &'static MediaType> {
        self.media_types
            .iter()
            .filter_map(|&mime| MEDIA_TYPES.iter().find(|t| t.mime == mime))
    }

    /// The length of `text` as this platform counts it.
    pub fn text_length(&self, text: &str) -> usize {
        match self.counting {
            TextCounting::XWeighted => x_weighted_length(text),
            TextCounting::Chars => text.nfc().count(),
        }
    }

    /// "image/jpeg (.jpg, .jpeg), image/png (.png), ..." for messages.
    fn describe_accepted_types(&self) -> String {
        self.accepted_types()
            .map(|t| {
                let extensions: Vec<String> =
                    t.extensions.iter().map(|e| format!(".{e}")).collect();
                format!("{} ({})", t.mime, extensions.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn name(&self) -> &'static str {
        self.platform.display_name()
    }
}

/// The length of `text` as platform `p` counts it.
pub fn text_length(p: Platform, text: &str) -> usize {
    rules(p).text_length(text)
}

// ---------------------------------------------------------------------------
// X's weighted length (twitter-text v3)

/// What a URL counts for on X, whatever its length (t.co wrapping).
const X_URL_WEIGHT: usize = 23;
/// What an emoji counts for on X, however many code points it has.
const X_EMOJI_WEIGHT: usize = 2;
/// Code points that count 1 on X; every other one counts 2.
const X_LIGHT_RANGES: [(u32, u32); 4] = [
    (0x0000, 0x10FF),
    (0x2000, 0x200D),
    (0x2010, 0x201F),
    (0x2032, 0x2037),
];

/// The length of `text` as X counts it (twitter-text v3): after NFC
/// normalization, every URL counts 23, every emoji (a grapheme cluster with a
/// pictographic code point, including ZWJ sequences, flags, keycaps and skin
/// tones) counts 2, and every other code point counts 1 if it is Latin,
/// Greek, Cyrillic, Hebrew, Arabic, Devanagari, ... (U+0000–U+10FF) or
/// common punctuation, else 2 (so CJK characters count 2).
pub fn x_weighted_length(text: &str) -> usize {
    let text: String = text.nfc().collect();
    let mut length = 0;
    let mut counted_to = 0;
    for url in url_ranges(&text) {
        length += x_plain_length(&text[counted_to..url.start]) + X_URL_WEIGHT;
        counted_to = url.end;
    }
    length + x_plain_length(&text[counted_to..])
}

/// The X weight of text without URLs.
fn x_plain_length(text: &str) -> usize {
    text.graphemes(true)
        .map(|cluster| {
            if is_emoji_cluster(cluster) {
                X_EMOJI_WEIGHT
            } else {
                cluster.chars().map(x_char_weight).sum()
            }
        })
        .sum()
}

fn x_char_weight(c: char) -> usize {
    let c = u32::from(c);
    if X_LIGHT_RANGES
        .iter()
        .any(|&(low, high)| (low..=high).contains(&c))
    {
        1
    } else {
        2
    }
}

const ZWJ: char = '\u{200D}';
const TEXT_PRESENTATION: char = '\u{FE0E}';
const EMOJI_PRESENTATION: char = '\u{FE0F}';
const COMBINING_KEYCAP: char = '\u{20E3}';

/// Whether a grapheme cluster displays as one emoji.
fn is_emoji_cluster(cluster: &str) -> bool {
    if cluster.contains(TEXT_PRESENTATION) {
        return false;
    }
    if cluster.contains(COMBINING_KEYCAP) {
        return true;
    }
    // Symbols such as © and ™ are text unless asked to be emoji, by VS16 or
    // by joining a ZWJ sequence.
    let presented = cluster.contains(EMOJI_PRESENTATION) || cluster.contains(ZWJ);
    cluster
        .chars()
        .any(|c| is_emoji_range(c) || (presented && is_text_default_emoji(c)))
}

/// Code points in the blocks of emoji that display as emoji by default (and
/// their neighbours, which count 2 on X alike): pictographs, emoticons,
/// transport, supplemental symbols, regional indicators, skin tones,
/// miscellaneous symbols and technical, dingbats, arrows and stars.
fn is_emoji_range(c: char) -> bool {
    matches!(
        c,
        '\u{1F000}'..='\u{1FAFF}'
            | '\u{2600}'..='\u{27BF}'
            | '\u{2300}'..='\u{23FF}'
            | '\u{2B00}'..='\u{2BFF}'
    )
}

/// Emoji that display as text unless followed by U+FE0F.
fn is_text_default_emoji(c: char) -> bool {
    matches!(
        c,
        '\u{00A9}'
            | '\u{00AE}'
            | '\u{203C}'
            | '\u{2049}'
            | '\u{2122}'
            | '\u{2139}'
            | '\u{2194}'..='\u{2199}'
            | '\u{21A9}'..='\u{21AA}'
            | '\u{24C2}'
            | '\u{25AA}'..='\u{25AB}'
            | '\u{25B6}'
            | '\u{25C0}'
            | '\u{25FB}'..='\u{25FE}'
            | '\u{2934}'..='\u{2935}'
            | '\u{3030}'
            | '\u{303D}'
            | '\u{3297}'
            | '\u{3299}'
    )
}

/// Common generic top-level domains, recognised in URLs without a scheme
/// (space-separated).
const GENERIC_TLDS: &str = "\
    com net org edu gov mil int info biz name pro aero coop museum mobi asia tel travel \
    jobs cat app dev page blog shop store online site website tech xyz club live news \
    media art design cloud link click top vip email space fun life today world agency \
    studio digital network social global solutions company services group team academy \
    guru ninja rocks wiki game games video photo photos music film movie radio press chat \
    help support software systems tools codes work works career careers money finance bank \
    capital fund ventures consulting marketing events community foundation church school \
    university education health care clinic dental fitness city land house homes estate \
    realty law legal market sale deals shopping fashion style beauty food cafe restaurant \
    pizza coffee wine beer bar pub golf football soccer bike auto cars car run one zone \
    center plus new eco green energy solar bio science lol wtf moe ink red blue black pink \
    gold love dating bet casino poker xxx google amazon apple microsoft";

/// Every country-code top-level domain (space-separated).
const COUNTRY_TLDS: &str = "\
    ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo \
    br bs bt bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm \
    do dz ec ee eg er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr \
    gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki \
    km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm mn mo \
    mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph \
    pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sk sl sm sn so sr \
    ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug uk us uy uz \
    va vc ve vg vi vn vu wf ws ye yt za zm zw";

/// Country-code domains X links even as a bare `name.tld` without a path.
const SHORT_LINKABLE_TLDS: &str = "co tv";

/// Characters that end a sentence rather than a URL when they end one.
const URL_TRAILING_PUNCTUATION: &[char] = &[
    '.', ',', ';', ':', '!', '?', ')', '\'', '"', ']', '}', '>', '\u{2019}', '\u{201D}', '\u{BB}',
];

/// Characters before which a URL does not start (mentions, hashtags, cashtags).
const URL_BLOCKING_PREFIXES: &[char] = &['@', '#', '$', '\u{FF20}', '\u{FF03}', '\u{FF04}'];

/// The byte ranges of the URLs in `text`, in order. A URL ends at whitespace
/// and never spans two whitespace-separated words.
fn url_ranges(text: &str) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    words(text)
        .filter_map(|(start, word)| find_url(word).map(|url| start + url.start..start + url.end))
}

/// The whitespace-separated words of `text`, with their byte offsets.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut position = 0;
    std::iter::from_fn(move || {
        let rest = &text[position..];
        let start = position + (rest.len() - rest.trim_start().len());
        if start == text.len() {
            return None;
        }
        let len = text[start..]
            .find(char::is_whitespace)
            .unwrap_or(text.len() - start);
        position = start + len;
        Some((start, &text[start..position]))
    })
}

/// The byte range of the URL in a whitespace-free `word`, if it holds one:
/// an `http://` or `https://` URL, or a bare domain with a recognised
/// top-level domain at the start of the word (after opening punctuation).
fn find_url(word: &str) -> Option<std::ops::Range<usize>> {
    if let Some(start) = find_scheme(word) {
        let url = &word[start..start + url_len(&word[start..])];
        let after_scheme = &url[url.find("//")? + 2..];
        return is_url_after_scheme(after_scheme).then_some(start..start + url.len());
    }
    // A bare domain starts the word, after any opening punctuation.
    let start = word.find(|c: char| c.is_alphanumeric() || URL_BLOCKING_PREFIXES.contains(&c))?;
    if matches!(
        word[..start].chars().next_back(),
        Some('-' | '_' | '.' | '/')
    ) {
        return None;
    }
    let url = &word[start..start + url_len(&word[start..])];
    is_bare_url(url).then_some(start..start + url.len())
}

/// The length of the URL that starts `word`: all of it but trailing
/// punctuation, keeping a closing parenthesis that balances one in the URL
/// (`.../Rust_(language)`).
fn url_len(word: &str) -> usize {
    let mut url = word;
    while let Some(last) = url.chars().next_back() {
        let balanced = last == ')' && url.matches('(').count() >= url.matches(')').count();
        if !URL_TRAILING_PUNCTUATION.contains(&last) || balanced {
            break;
        }
        url = &url[..url.len() - last.len_utf8()];
    }
    url.len()
}

/// The start of an `http://` or `https://` scheme in `word` (any case) that
/// is not glued to a preceding letter, digit, `@`, `#` or `$`.
fn find_scheme(word: &str) -> Option<usize> {
    let lower = word.to_ascii_lowercase();
    ["https://", "http://"]
        .iter()
        .flat_map(|scheme| lower.match_indices(scheme).map(|(i, _)| i))
        .filter(|&i| {
            word[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric() && !URL_BLOCKING_PREFIXES.contains(&c))
        })
        .min()
}

/// Splits `host[:port][/path][?query][#fragment]` into the host and whether
/// anything follows it; `None` if a port is malformed.
fn split_host(url: &str) -> Option<(&str, bool)> {
    let host_end = url.find(['/', '?', '#', ':']).unwrap_or(url.len());
    let (host, rest) = url.split_at(host_end);
    if let Some(port_and_rest) = rest.strip_prefix(':') {
        let port_len = port_and_rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(port_and_rest.len());
        let after_port = &port_and_rest[port_len..];
        if port_len == 0 || !(after_port.is_empty() || after_port.starts_with(['/', '?', '#'])) {
            return None;
        }
    }
    Some((host, !rest.is_empty()))
}

/// The dot-separated labels of a syntactically valid host name (letters,
/// digits and inner hyphens; ASCII only unless `unicode`), at least two.
fn host_labels(host: &str, unicode: bool) -> Option<Vec<&str>> {
    let labels: Vec<&str> = host.split('.').collect();
    let valid_label = |label: &&str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c == '-' || c.is_ascii_alphanumeric() || (unicode && c.is_alphanumeric()))
    };
    (labels.len() >= 2 && labels.iter().all(valid_label)).then_some(labels)
}

/// Whether `label` is in a space-separated list of TLDs, ignoring case.
fn is_known_tld(label: &str, list: &str) -> bool {
    list.split_ascii_whitespace()
        .any(|tld| tld.eq_ignore_ascii_case(label))
}

/// Whether what follows `http(s)://` makes a URL: a host name whose last
/// label looks like a top-level domain (any alphabetic one, or punycode, as
/// X knows every delegated TLD).
fn is_url_after_scheme(rest: &str) -> bool {
    let Some((host, _)) = split_host(rest) else {
        return false;
    };
    host_labels(host, true).is_some_and(|labels| {
        let tld = labels[labels.len() - 1];
        tld.starts_with("xn--")
            || (tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
    })
}

/// Whether a word without a scheme is a URL: an ASCII host name with a
/// recognised TLD. Like X, a bare `name.cc` with a country-code TLD and
/// nothing after it is not linked (`lib.rs`), except `.co` and `.tv`.
fn is_bare_url(candidate: &str) -> bool {
    let Some((host, has_more)) = split_host(candidate) else {
        return false;
    };
    let Some(labels) = host_labels(host, false) else {
        return false;
    };
    let tld = labels[labels.len() - 1];
    if is_known_tld(tld, GENERIC_TLDS) {
        return true;
    }
    is_known_tld(tld, COUNTRY_TLDS)
        && (has_more || labels.len() > 2 || is_known_tld(tld, SHORT_LINKABLE_TLDS))
}

// ---------------------------------------------------------------------------
// Validation

/// Why a post breaks a platform's rules: the request field at fault, a stable
/// UPPER_SNAKE code and a message for the API user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleViolation {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl RuleViolation {
    pub const TEXT_REQUIRED: &'static str = "TEXT_REQUIRED";
    pub const TEXT_TOO_LONG: &'static str = "TEXT_TOO_LONG";
    pub const MEDIA_REQUIRED: &'static str = "MEDIA_REQUIRED";
    pub const TOO_MANY_MEDIA: &'static str = "TOO_MANY_MEDIA";
    pub const UNSUPPORTED_MEDIA_TYPE: &'static str = "UNSUPPORTED_MEDIA_TYPE";
    pub const MIXED_MEDIA: &'static str = "MIXED_MEDIA";
    pub const MEDIA_TOO_LARGE: &'static str = "MEDIA_TOO_LARGE";

    fn new(field: &'static str, code: &'static str, message: String) -> Self {
        RuleViolation {
            field,
            code,
            message,
        }
    }

    fn media(code: &'static str, message: String) -> Self {
        Self::new(MEDIA_FIELD, code, message)
    }
}

impl fmt::Display for RuleViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuleViolation {}

const TEXT_FIELD: &str = "text";
const MEDIA_FIELD: &str = "mediaPaths";
const BYTES_FIELD: &str = "bytes";

/// What validation knows about one media item of a post. `kind` and `mime`
/// are `None` when the type is unknown (e.g. an external URL without an
/// extension): such items count toward the maximum number of items but skip
/// the type and mixing checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MediaItem {
    pub kind: Option<MediaKind>,
    pub mime: Option<&'static str>,
}

impl MediaItem {
    /// An item of unknown type.
    pub const UNKNOWN: MediaItem = MediaItem {
        kind: None,
        mime: None,
    };

    /// The item's kind: `kind`, or else the kind of a known `mime`.
    fn effective_kind(&self) -> Option<MediaKind> {
        self.kind
            .or_else(|| self.mime.and_then(media_type_by_mime).map(|t| t.kind))
    }
}

impl From<&MediaType> for MediaItem {
    fn from(t: &MediaType) -> Self {
        MediaItem {
            kind: Some(t.kind),
            mime: Some(t.mime),
        }
    }
}

impl From<Option<&MediaType>> for MediaItem {
    /// A known type, or [`MediaItem::UNKNOWN`]; suits
    /// `MediaItem::from(infer_from_filename(path))`.
    fn from(t: Option<&MediaType>) -> Self {
        t.map_or(MediaItem::UNKNOWN, MediaItem::from)
    }
}

/// Checks a post against platform `p`'s rules: text present and within the
/// limit, then the number, types and mix of media items. Returns the first
/// violation found.
pub fn validate_post(p: Platform, text: &str, media: &[MediaItem]) -> Result<(), RuleViolation> {
    let rules = rules(p);
    let name = rules.name();
    if text.trim().is_empty() {
        return Err(RuleViolation::new(
            TEXT_FIELD,
            RuleViolation::TEXT_REQUIRED,
            format!("text is empty; a {name} post needs text"),
        ));
    }
    let length = rules.text_length(text);
    if length > rules.max_text {
        let how = match rules.counting {
            TextCounting::XWeighted => " (URLs count 23, emoji and wide characters 2)",
            TextCounting::Chars => "",
        };
        return Err(RuleViolation::new(
            TEXT_FIELD,
            RuleViolation::TEXT_TOO_LONG,
            format!(
                "text is {length} characters; {name} allows {}{how}",
                rules.max_text
            ),
        ));
    }
    validate_media(rules, media)
}

fn validate_media(rules: &PlatformRules, media: &[MediaItem]) -> Result<(), RuleViolation> {
    let name = rules.name();
    if media.len() < rules.min_media {
        return Err(RuleViolation::media(
            RuleViolation::MEDIA_REQUIRED,
            format!(
                "{name} needs at least {} photo or video in mediaPaths",
                rules.min_media
            ),
        ));
    }
    if media.len() > rules.max_media() {
        return Err(RuleViolation::media(
            RuleViolation::TOO_MANY_MEDIA,
            format!(
                "mediaPaths has {} items; {name} allows at most {} per post",
                media.len(),
                rules.max_media()
            ),
        ));
    }
    for (i, item) in media.iter().enumerate() {
        check_item_type(rules, i, item)?;
    }
    let kinds = || media.iter().filter_map(MediaItem::effective_kind);
    let videos = kinds().filter(|&k| k == MediaKind::Video).count();
    let images = kinds().filter(|&k| k != MediaKind::Video).count();
    if videos > rules.max_videos {
        return Err(RuleViolation::media(
            RuleViolation::TOO_MANY_MEDIA,
            format!(
                "mediaPaths has {videos} videos; {name} allows at most {} per post",
                rules.max_videos
            ),
        ));
    }
    if videos > 0 && images > 0 && !rules.allows_mixed {
        return Err(RuleViolation::media(
            RuleViolation::MIXED_MEDIA,
            format!(
                "mediaPaths mixes a video with images; a {name} post takes either one video or up to {} images",
                rules.max_images
            ),
        ));
    }
    Ok(())
}

/// Checks that the platform takes item `i`'s type, by MIME type when known,
/// else by kind.
fn check_item_type(rules: &PlatformRules, i: usize, item: &MediaItem) -> Result<(), RuleViolation> {
    let accepted = match (item.mime, item.kind) {
        (Some(mime), _) => media_type_by_mime(mime).is_some_and(|t| rules.accepts(t)),
        (None, Some(kind)) => rules.accepted_types().any(|t| t.kind == kind),
        (None, None) => true,
    };
    if accepted {
        return Ok(());
    }
    let what = item
        .mime
        .or(item.kind.map(MediaKind::as_str))
        .unwrap_or_default();
    Err(unsupported(rules, &format!("mediaPaths[{i}] ({what})")))
}

/// `UNSUPPORTED_MEDIA_TYPE` for `subject`, listing what the platform accepts.
fn unsupported(rules: &PlatformRules, subject: &str) -> RuleViolation {
    let name = rules.name();
    RuleViolation::media(
        RuleViolation::UNSUPPORTED_MEDIA_TYPE,
        format!(
            "{subject} is not a media type {name} accepts; {name} accepts {}",
            rules.describe_accepted_types()
        ),
    )
}

/// Checks one media file against platform `p`: its MIME type must be one the
/// platform accepts (`UNSUPPORTED_MEDIA_TYPE`), and its size, when known, at
/// most the platform's limit for its kind (`MEDIA_TOO_LARGE`, field
/// `bytes`). Returns the recognised media type.
pub fn check_media_type(
    p: Platform,
    mime: &str,
    bytes: Option<u64>,
) -> Result<&'static MediaType, RuleViolation> {
    let rules = rules(p);
    let media_type = media_type_by_mime(mime)
        .filter(|t| rules.accepts(t))
        .ok_or_else(|| unsupported(rules, &format!("{:?}", mime.trim())))?;
    let limit = rules.max_bytes(media_type.kind);
    match bytes {
        Some(size) if size > limit => Err(RuleViolation::new(
            BYTES_FIELD,
            RuleViolation::MEDIA_TOO_LARGE,
            format!(
                "the {} file is {} ({size} bytes); {} allows {} up to {}",
                media_type.mime,
                format_size(size),
                rules.name(),
                media_type.kind.plural(),
                format_size(limit)
            ),
        )),
        _ => Ok(media_type),
    }
}

/// A byte count for people: "512 MB", "5.2 MB", "900 bytes". Whole units
/// only when exact, so a size just over a limit never reads as the limit.
fn format_size(bytes: u64) -> String {
    for (unit, name) in [(GB, "GB"), (MB, "MB"), (KB, "KB")] {
        if bytes >= unit {
            let whole = bytes / unit;
            return if whole * unit == bytes {
                format!("{whole} {name}")
            } else {
                format!("{:.1} {name}", bytes as f64 / unit as f64)
            };
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::infer_from_filename;

    fn item(mime: &str) -> MediaItem {
        MediaItem::from(media_type_by_mime(mime).expect(mime))
    }

    fn image() -> MediaItem {
        item("image/jpeg")
    }

    fn video() -> MediaItem {
        item("video/mp4")
    }

    fn code_of(result: Result<(), RuleViolation>) -> Option<&'static str> {
        result.err().map(|v| v.code)
    }

    // --- the table ------------------------------------------------------

    #[test]
    fn rules_follow_platform_order() {
        assert_eq!(all_rules().len(), Platform::ALL.len());
        for (r, p) in all_rules().iter().zip(Platform::ALL) {
            assert_eq!(r.platform, p);
            assert_eq!(rules(p).platform, p);
            assert!(std::ptr::eq(rules(p), r));
        }
    }

    #[test]
    fn limits_per_platform() {
        // (platform, max_text, counting, min_media, max_images, allows_mixed,
        //  image, gif and video byte limits)
        let expected = [
            (
                Platform::X,
                280,
                TextCounting::XWeighted,
                0,
                4,
                false,
                5 * MB,
                15 * MB,
                512 * MB,
            ),
            (
                Platform::Linkedin,
                3000,
                TextCounting::Chars,
                0,
                20,
                false,
                10 * MB,
                10 * MB,
                5 * GB,
            ),
            (
                Platform::Facebook,
                63206,
                TextCounting::Chars,
                0,
                10,
                true,
                10 * MB,
                10 * MB,
                10 * GB,
            ),
            (
                Platform::Tiktok,
                2200,
                TextCounting::Chars,
                1,
                35,
                false,
                20 * MB,
                20 * MB,
                4 * GB,
            ),
            (
                Platform::Instagram,
                2200,
                TextCounting::Chars,
                1,
                10,
                true,
                8 * MB,
                8 * MB,
                4 * GB,
            ),
        ];
        for (p, max_text, counting, min_media, max_images, mixed, image, gif, video) in expected {
            let r = rules(p);
            assert_eq!(r.max_text, max_text, "{p}");
            assert_eq!(r.counting, counting, "{p}");
            assert_eq!(r.min_media, min_media, "{p}");
            assert_eq!(r.max_images, max_images, "{p}");
            assert_eq!(r.max_videos, 1, "{p}");
            assert_eq!(r.allows_mixed, mixed, "{p}");
            assert_eq!(r.max_bytes(MediaKind::Image), image, "{p}");
            assert_eq!(r.max_bytes(MediaKind::Gif), gif, "{p}");
            assert_eq!(r.max_bytes(MediaKind::Video), video, "{p}");
        }
        assert_eq!(rules(Platform::X).max_video_bytes, 536_870_912);
        assert_eq!(rules(Platform::Facebook).max_video_bytes, 10_737_418_240);
    }

    #[test]
    fn accepted_media_types_per_platform() {
        let sorted = |p: Platform| {
            let mut types = rules(p).media_types.to_vec();
            types.sort_unstable();
            types
        };
        let common = [
            "image/gif",
            "image/jpeg",
            "image/png",
            "image/webp",
            "video/mp4",
            "video/quicktime",
        ];
        assert_eq!(sorted(Platform::X), common);
        assert_eq!(sorted(Platform::Linkedin), common);
        assert_eq!(sorted(Platform::Facebook), common);
        assert_eq!(
            sorted(Platform::Instagram),
            [
                "image/heic",
                "image/jpeg",
                "image/png",
                "video/mp4",
                "video/quicktime"
            ]
        );
        assert_eq!(
            sorted(Platform::Tiktok),
            [
                "image/jpeg",
                "image/png",
                "image/webp",
                "video/mp4",
                "video/quicktime",
                "video/webm"
            ]
        );
    }

    #[test]
    fn every_accepted_type_is_a_known_media_type() {
        for r in all_rules() {
            assert_eq!(
                r.accepted_types().count(),
                r.media_types.len(),
                "{}",
                r.platform
            );
            for t in r.accepted_types() {
                assert!(r.accepts(t));
            }
        }
        assert!(!rules(Platform::Instagram).accepts(&MediaType::GIF));
        assert!(!rules(Platform::X).accepts(&MediaType::HEIC));
    }

    #[test]
    fn platform_payload_only_on_facebook() {
        for r in all_rules() {
            assert_eq!(
                r.takes_platform_payload,
                r.platform.accepts_platform_payload()
            );
        }
        assert!(rules(Platform::Facebook).takes_platform_payload);
    }

    #[test]
    fn serializes_camel_case_for_list_platforms() {
        let json = serde_json::to_value(rules(Platform::X)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "platform": "x",
                "maxText": 280,
                "counting": "x_weighted",
                "minMedia": 0,
                "maxImages": 4,
                "maxVideos": 1,
                "allowsMixed": false,
                "mediaTypes": ["image/jpeg", "image/png", "image/webp", "image/gif", "video/mp4", "video/quicktime"],
                "maxImageBytes": 5_242_880,
                "maxGifBytes": 15_728_640,
                "maxVideoBytes": 536_870_912,
                "takesPlatformPayload": false,
                "minPostIntervalMs": 60_000,
            })
        );
        let all = serde_json::to_value(all_rules()).unwrap();
        assert_eq!(all[2]["counting"], "chars");
        assert_eq!(all[2]["takesPlatformPayload"], true);
        assert_eq!(all[4]["platform"], "instagram");
    }

    #[test]
    fn tld_lists_are_clean() {
        let list = |tlds: &'static str| tlds.split_ascii_whitespace().collect::<Vec<_>>();
        let generic = list(GENERIC_TLDS);
        let country = list(COUNTRY_TLDS);
        assert!(generic.len() > 100 && country.len() > 240);
        for tlds in [&generic, &country] {
            for (i, tld) in tlds.iter().enumerate() {
                assert!(tld.bytes().all(|b| b.is_ascii_lowercase()), "{tld:?}");
                assert!(!tlds[i + 1..].contains(tld), "duplicate {tld}");
            }
        }
        assert!(generic.iter().all(|t| t.len() > 2));
        assert!(country.iter().all(|t| t.len() == 2));
        assert!(list(SHORT_LINKABLE_TLDS)
            .iter()
            .all(|t| country.contains(t)));
    }

    // --- text length ----------------------------------------------------

    #[test]
    fn x_counts_latin_as_one_and_cjk_as_two() {
        assert_eq!(x_weighted_length(""), 0);
        assert_eq!(x_weighted_length(&"a".repeat(280)), 280);
        assert_eq!(x_weighted_length(&"日".repeat(140)), 280);
        assert_eq!(x_weighted_length("héllo wörld"), 11);
        assert_eq!(x_weighted_length("Привет"), 6);
        assert_eq!(x_weighted_length("한국어"), 6);
        assert_eq!(x_weighted_length("カタカナ"), 8);
    }

    #[test]
    fn x_weight_range_boundaries() {
        let cases = [
            ('\u{10FF}', 1),
            ('\u{1100}', 2),
            ('\u{1FFF}', 2),
            ('\u{2000}', 1),
            ('\u{200D}', 1),
            ('\u{200E}', 2),
            ('\u{200F}', 2),
            ('\u{2010}', 1),
            ('\u{201F}', 1),
            ('\u{2020}', 2),
            ('\u{2031}', 2),
            ('\u{2032}', 1),
            ('\u{2037}', 1),
            ('\u{2038}', 2),
            ('\u{20AC}', 2),
        ];
        for (c, weight) in cases {
            assert_eq!(x_char_weight(c), weight, "U+{:04X}", u32::from(c));
        }
        // Typographic quotes and dashes are light; the euro sign is not.
        assert_eq!(x_weighted_length("“quoted” — ok"), 13);
        assert_eq!(x_weighted_length("5€"), 3);
    }

    #[test]
    fn x_normalizes_to_nfc() {
        assert_eq!(x_weighted_length("\u{e9}"), 1);
        assert_eq!(x_weighted_length("e\u{301}"), 1);
        // Hangul jamo compose to one wide syllable.
        assert_eq!(x_weighted_length("\u{1100}\u{1161}"), 2);
        // A combining mark with no precomposed form still counts.
        assert_eq!(x_weighted_length("q\u{301}"), 2);
    }

    #[test]
    fn x_counts_each_emoji_as_two() {
        let cases = [
            ("😀", 2),
            ("😀😀", 4),
            ("👨‍👩‍👧‍👦", 2),
            ("🇫🇷", 2),
            ("🇫🇷🇩🇪", 4),
            ("👍🏽", 2),
            ("🧑🏾‍💻", 2),
            ("🏳️‍🌈", 2),
            ("❤️", 2),
            ("❤", 2),
            ("❤️‍🔥", 2),
            ("1️⃣", 2),
            ("#️⃣", 2),
            ("*⃣", 2),
            ("©️", 2),
            ("™️", 2),
            (
                "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
                2,
            ),
            ("⌚", 2),
            ("⭐", 2),
            ("🫠", 2),
            ("hi 👋", 5),
        ];
        for (text, expected) in cases {
            assert_eq!(x_weighted_length(text), expected, "{text:?}");
        }
    }

    #[test]
    fn x_text_symbols_are_not_emoji() {
        // Text-default symbols without U+FE0F count as the characters they are.
        assert_eq!(x_weighted_length("©"), 1);
        assert_eq!(x_weighted_length("®"), 1);
        assert_eq!(x_weighted_length("™"), 2);
        // U+FE0E asks for text presentation: not an emoji.
        assert_eq!(x_weighted_length("©\u{FE0E}"), 3);
        // A variation selector on a letter does not make it an emoji.
        assert_eq!(x_weighted_length("a\u{FE0F}"), 3);
        assert_eq!(x_weighted_length("1"), 1);
        assert_eq!(x_weighted_length("#1"), 2);
    }

    #[test]
    fn x_counts_urls_as_23() {
        let cases = [
            ("see https://example.com/a/very/long/path?x=1", 4 + 23),
            ("https://t.co", 23),
            ("http://example.com", 23),
            ("HTTPS://EXAMPLE.COM/X", 23),
            ("https://example.com/a https://example.org/b", 23 + 1 + 23),
            ("example.com", 23),
            ("example.com/path", 23),
            ("www.example.com", 23),
            ("sub.example.co.uk/x", 23),
            ("example.com:8080/admin", 23),
            ("EXAMPLE.ORG", 23),
            ("read example.com.", 5 + 23 + 1),
            ("(see https://example.com/x)", 5 + 23 + 1),
            ("https://example.com/x?!", 23 + 2),
            ("'https://example.com'", 1 + 23 + 1),
            ("\"example.com\",", 1 + 23 + 2),
            (
                "https://en.wikipedia.org/wiki/Rust_(programming_language)",
                23,
            ),
            (
                "(https://en.wikipedia.org/wiki/Rust_(language))",
                1 + 23 + 1,
            ),
            ("see:https://example.com", 4 + 23),
            ("https://例え.jp/パス", 23),
            ("https://example.dev", 23),
            ("https://my.company", 23),
            ("example.co", 23),
            ("example.tv", 23),
            ("www.example.de", 23),
            ("example.de/about", 23),
            ("https://example.de", 23),
            ("日本 https://example.com", 5 + 23),
        ];
        for (text, expected) in cases {
            assert_eq!(x_weighted_length(text), expected, "{text:?}");
        }
        let long_url = format!("https://example.com/{}", "a".repeat(500));
        assert_eq!(x_weighted_length(&long_url), 23);
    }

    #[test]
    fn x_does_not_count_non_urls_as_23() {
        // Each of these counts its characters.
        for text in [
            "http://localhost",
            "https://",
            "https://.com",
            "https://192.168.0.1/admin",
            "https://example.com:abc",
            "lib.rs",
            "readme.md",
            "node.js",
            "file.txt",
            "e.g.",
            "a..com",
            "-example.com",
            "_example.com",
            ".example.com",
            "/example.com",
            "@example.com",
            "#example.com",
            "$example.com",
            "me@example.com",
            "xhttps://example.com",
            "example.unknowntld",
            "-bad-.com",
            "exam_ple.com",
            "example.com日本",
            "例え.jp",
            "3.14",
            "v1.2.3",
        ] {
            assert_eq!(x_weighted_length(text), x_plain_length(text), "{text:?}");
        }
    }

    #[test]
    fn x_urls_and_emoji_together() {
        let text = "🎉 launch day! https://example.com/launch 日本";
        // emoji 2 + " launch day! " 13 + URL 23 + " " 1 + two CJK 4
        assert_eq!(x_weighted_length(text), 2 + 13 + 23 + 1 + 4);
    }

    #[test]
    fn other_platforms_count_nfc_scalar_values() {
        for p in [
            Platform::Linkedin,
            Platform::Facebook,
            Platform::Tiktok,
            Platform::Instagram,
        ] {
            assert_eq!(text_length(p, "hello"), 5);
            assert_eq!(text_length(p, "e\u{301}"), 1);
            assert_eq!(text_length(p, "日本"), 2);
            assert_eq!(text_length(p, "😀"), 1);
            assert_eq!(text_length(p, "👨‍👩‍👧"), 5);
            assert_eq!(text_length(p, "https://example.com/long/path"), 29);
        }
        assert_eq!(
            text_length(Platform::X, "https://example.com/long/path"),
            23
        );
        assert_eq!(text_length(Platform::X, "日本"), 4);
    }

    // --- validate_post: text ----------------------------------------------

    #[test]
    fn text_is_required_everywhere() {
        for p in Platform::ALL {
            for text in ["", "   ", "\n\t "] {
                let v = validate_post(p, text, &[image()]).unwrap_err();
                assert_eq!((v.field, v.code), ("text", RuleViolation::TEXT_REQUIRED));
                assert!(v.message.contains(p.display_name()), "{}", v.message);
            }
        }
    }

    #[test]
    fn text_at_the_limit_passes_and_one_over_fails() {
        for r in all_rules() {
            let media = vec![image(); r.min_media];
            let at_limit = "a".repeat(r.max_text);
            assert_eq!(
                validate_post(r.platform, &at_limit, &media),
                Ok(()),
                "{}",
                r.platform
            );
            let over = "a".repeat(r.max_text + 1);
            let v = validate_post(r.platform, &over, &media).unwrap_err();
            assert_eq!((v.field, v.code), ("text", RuleViolation::TEXT_TOO_LONG));
            let expected = format!(
                "text is {} characters; {} allows {}",
                r.max_text + 1,
                r.platform.display_name(),
                r.max_text
            );
            assert!(v.message.starts_with(&expected), "{}", v.message);
        }
    }

    #[test]
    fn x_too_long_message_explains_weighting() {
        let v = validate_post(Platform::X, &"日".repeat(141), &[]).unwrap_err();
        assert_eq!(v.code, RuleViolation::TEXT_TOO_LONG);
        assert_eq!(
            v.message,
            "text is 282 characters; X allows 280 (URLs count 23, emoji and wide characters 2)"
        );
        // Weighted counting, not scalar values: 141 chars is over, 140 is not.
        assert_eq!(validate_post(Platform::X, &"日".repeat(140), &[]), Ok(()));
        // A long URL only counts 23.
        let text = format!(
            "{} https://example.com/{}",
            "a".repeat(256),
            "p".repeat(100)
        );
        assert_eq!(validate_post(Platform::X, &text, &[]), Ok(()));
    }

    #[test]
    fn other_platforms_do_not_weight() {
        let text = "日".repeat(2200);
        assert_eq!(
            validate_post(Platform::Instagram, &text, &[image()]),
            Ok(())
        );
        let v = validate_post(Platform::Instagram, &format!("{text}日"), &[image()]).unwrap_err();
        assert_eq!(v.message, "text is 2201 characters; Instagram allows 2200");
    }

    // --- validate_post: media ---------------------------------------------

    #[test]
    fn media_required_on_instagram_and_tiktok() {
        for p in [Platform::Instagram, Platform::Tiktok] {
            let v = validate_post(p, "hi", &[]).unwrap_err();
            assert_eq!(
                (v.field, v.code),
                ("mediaPaths", RuleViolation::MEDIA_REQUIRED)
            );
            assert!(v.message.contains(p.display_name()), "{}", v.message);
            assert!(
                v.message.contains("at least 1 photo or video"),
                "{}",
                v.message
            );
            assert_eq!(validate_post(p, "hi", &[video()]), Ok(()));
            assert_eq!(validate_post(p, "hi", &[MediaItem::UNKNOWN]), Ok(()));
        }
        for p in [Platform::X, Platform::Linkedin, Platform::Facebook] {
            assert_eq!(validate_post(p, "hi", &[]), Ok(()));
        }
    }

    #[test]
    fn image_count_limits() {
        for r in all_rules() {
            let at_limit = vec![image(); r.max_images];
            assert_eq!(
                validate_post(r.platform, "hi", &at_limit),
                Ok(()),
                "{}",
                r.platform
            );
            let over = vec![image(); r.max_images + 1];
            let v = validate_post(r.platform, "hi", &over).unwrap_err();
            assert_eq!(
                (v.field, v.code),
                ("mediaPaths", RuleViolation::TOO_MANY_MEDIA)
            );
            assert_eq!(
                v.message,
                format!(
                    "mediaPaths has {} items; {} allows at most {} per post",
                    r.max_images + 1,
                    r.platform.display_name(),
                    r.max_images
                )
            );
        }
    }

    #[test]
    fn unknown_items_count_toward_the_maximum() {
        let unknown = vec![MediaItem::UNKNOWN; 5];
        assert_eq!(
            code_of(validate_post(Platform::X, "hi", &unknown)),
            Some(RuleViolation::TOO_MANY_MEDIA)
        );
        assert_eq!(validate_post(Platform::X, "hi", &unknown[..4]), Ok(()));
        let mut mixed = vec![image(); 3];
        mixed.extend([MediaItem::UNKNOWN; 2]);
        assert_eq!(
            code_of(validate_post(Platform::X, "hi", &mixed)),
            Some(RuleViolation::TOO_MANY_MEDIA)
        );
    }

    #[test]
    fn unknown_items_skip_type_and_mixing_checks() {
        // On X a video cannot go with images, but an unknown item is not known to be one.
        assert_eq!(
            validate_post(Platform::X, "hi", &[video(), MediaItem::UNKNOWN]),
            Ok(())
        );
        assert_eq!(
            validate_post(Platform::Tiktok, "hi", &[MediaItem::UNKNOWN; 3]),
            Ok(())
        );
        assert_eq!(MediaItem::default(), MediaItem::UNKNOWN);
    }

    #[test]
    fn one_video_at_most() {
        for p in Platform::ALL {
            assert_eq!(validate_post(p, "hi", &[video()]), Ok(()), "{p}");
            let v = validate_post(p, "hi", &[video(), item("video/quicktime")]).unwrap_err();
            assert_eq!(
                (v.field, v.code),
                ("mediaPaths", RuleViolation::TOO_MANY_MEDIA)
            );
            assert_eq!(
                v.message,
                format!(
                    "mediaPaths has 2 videos; {} allows at most 1 per post",
                    p.display_name()
                )
            );
        }
    }

    #[test]
    fn mixing_video_and_images() {
        for p in [Platform::X, Platform::Linkedin, Platform::Tiktok] {
            for media in [[video(), image()], [image(), video()]] {
                let v = validate_post(p, "hi", &media).unwrap_err();
                assert_eq!(
                    (v.field, v.code),
                    ("mediaPaths", RuleViolation::MIXED_MEDIA)
                );
                assert!(v.message.contains(p.display_name()), "{}", v.message);
            }
        }
        // GIFs are images: they do not go with a video either.
        assert_eq!(
            code_of(validate_post(
                Platform::X,
                "hi",
                &[video(), item("image/gif")]
            )),
            Some(RuleViolation::MIXED_MEDIA)
        );
        for p in [Platform::Instagram, Platform::Facebook] {
            assert_eq!(
                validate_post(p, "hi", &[video(), image(), image()]),
                Ok(()),
                "{p}"
            );
        }
    }

    #[test]
    fn tiktok_video_posts_hold_exactly_one_item() {
        assert_eq!(
            validate_post(Platform::Tiktok, "hi", &[item("video/webm")]),
            Ok(())
        );
        assert_eq!(
            validate_post(Platform::Tiktok, "hi", &vec![image(); 35]),
            Ok(())
        );
        let mut video_and_photos = vec![image(); 2];
        video_and_photos.push(video());
        assert_eq!(
            code_of(validate_post(Platform::Tiktok, "hi", &video_and_photos)),
            Some(RuleViolation::MIXED_MEDIA)
        );
    }

    #[test]
    fn unsupported_types_are_rejected_with_what_is_accepted() {
        let v = validate_post(Platform::X, "hi", &[image(), item("image/heic")]).unwrap_err();
        assert_eq!(
            (v.field, v.code),
            ("mediaPaths", RuleViolation::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            v.message,
            "mediaPaths[1] (image/heic) is not a media type X accepts; X accepts \
             image/jpeg (.jpg, .jpeg), image/png (.png), image/webp (.webp), image/gif (.gif), \
             video/mp4 (.mp4, .m4v), video/quicktime (.mov)"
        );
        let cases = [
            (Platform::Instagram, "image/gif"),
            (Platform::Instagram, "image/webp"),
            (Platform::Instagram, "video/webm"),
            (Platform::Tiktok, "image/gif"),
            (Platform::Tiktok, "image/heic"),
            (Platform::Linkedin, "video/webm"),
            (Platform::Facebook, "image/heif"),
            (Platform::X, "video/webm"),
        ];
        for (p, mime) in cases {
            assert_eq!(
                code_of(validate_post(p, "hi", &[item(mime)])),
                Some(RuleViolation::UNSUPPORTED_MEDIA_TYPE),
                "{p} {mime}"
            );
        }
        assert_eq!(
            validate_post(Platform::Instagram, "hi", &[item("image/heic")]),
            Ok(())
        );
        assert_eq!(
            validate_post(Platform::Tiktok, "hi", &[item("image/webp")]),
            Ok(())
        );
    }

    #[test]
    fn items_with_unrecognised_mime_or_only_a_kind() {
        let tiff = MediaItem {
            kind: Some(MediaKind::Image),
            mime: Some("image/tiff"),
        };
        let v = validate_post(Platform::Facebook, "hi", &[tiff]).unwrap_err();
        assert_eq!(v.code, RuleViolation::UNSUPPORTED_MEDIA_TYPE);
        assert!(
            v.message.starts_with("mediaPaths[0] (image/tiff) "),
            "{}",
            v.message
        );

        let gif = MediaItem {
            kind: Some(MediaKind::Gif),
            mime: None,
        };
        let v = validate_post(Platform::Instagram, "hi", &[gif]).unwrap_err();
        assert_eq!(v.code, RuleViolation::UNSUPPORTED_MEDIA_TYPE);
        assert!(
            v.message.starts_with("mediaPaths[0] (gif) "),
            "{}",
            v.message
        );
        assert_eq!(validate_post(Platform::X, "hi", &[gif]), Ok(()));

        // A kind-only video still counts as a video for mixing.
        let video_kind = MediaItem {
            kind: Some(MediaKind::Video),
            mime: None,
        };
        assert_eq!(
            code_of(validate_post(Platform::X, "hi", &[video_kind, image()])),
            Some(RuleViolation::MIXED_MEDIA)
        );
        // A mime-only item takes its kind from the mime.
        let mp4 = MediaItem {
            kind: None,
            mime: Some("video/mp4"),
        };
        assert_eq!(
            code_of(validate_post(Platform::X, "hi", &[mp4, image()])),
            Some(RuleViolation::MIXED_MEDIA)
        );
    }

    #[test]
    fn media_items_from_inferred_types() {
        assert_eq!(
            MediaItem::from(infer_from_filename("a.mov")),
            MediaItem {
                kind: Some(MediaKind::Video),
                mime: Some("video/quicktime")
            }
        );
        assert_eq!(
            MediaItem::from(infer_from_filename("https://x.test/a")),
            MediaItem::UNKNOWN
        );
    }

    #[test]
    fn text_is_checked_before_media() {
        assert_eq!(
            code_of(validate_post(Platform::Instagram, "", &[])),
            Some(RuleViolation::TEXT_REQUIRED)
        );
        let long = "a".repeat(3000);
        assert_eq!(
            code_of(validate_post(Platform::Instagram, &long, &[])),
            Some(RuleViolation::TEXT_TOO_LONG)
        );
    }

    // --- check_media_type -------------------------------------------------

    #[test]
    fn check_media_type_accepts_known_types_within_limits() {
        for r in all_rules() {
            for t in r.accepted_types() {
                let limit = r.max_bytes(t.kind);
                assert_eq!(check_media_type(r.platform, t.mime, None), Ok(t));
                assert_eq!(check_media_type(r.platform, t.mime, Some(limit)), Ok(t));
                let v = check_media_type(r.platform, t.mime, Some(limit + 1)).unwrap_err();
                assert_eq!((v.field, v.code), ("bytes", RuleViolation::MEDIA_TOO_LARGE));
            }
        }
        assert_eq!(
            check_media_type(Platform::X, "Image/PNG; charset=binary", Some(0)).map(|t| t.mime),
            Ok("image/png")
        );
        assert_eq!(
            check_media_type(Platform::X, "image/jpg", None).map(|t| t.mime),
            Ok("image/jpeg")
        );
    }

    #[test]
    fn check_media_type_limits_by_kind() {
        // 10 MB is too big for an image on X but fine for a GIF.
        assert_eq!(
            check_media_type(Platform::X, "image/jpeg", Some(10 * MB)).map_err(|v| v.code),
            Err(RuleViolation::MEDIA_TOO_LARGE)
        );
        assert!(check_media_type(Platform::X, "image/gif", Some(10 * MB)).is_ok());
        let v = check_media_type(Platform::X, "video/mp4", Some(600 * MB)).unwrap_err();
        assert_eq!(
            v.message,
            "the video/mp4 file is 600 MB (629145600 bytes); X allows videos up to 512 MB"
        );
        let v = check_media_type(Platform::X, "image/png", Some(5 * MB + 1)).unwrap_err();
        assert_eq!(
            v.message,
            "the image/png file is 5.0 MB (5242881 bytes); X allows images up to 5 MB"
        );
        let v = check_media_type(Platform::Linkedin, "video/mp4", Some(6 * GB)).unwrap_err();
        assert!(
            v.message.ends_with("LinkedIn allows videos up to 5 GB"),
            "{}",
            v.message
        );
    }

    #[test]
    fn check_media_type_rejects_unaccepted_types() {
        let v = check_media_type(Platform::Instagram, "image/gif", Some(1)).unwrap_err();
        assert_eq!(
            (v.field, v.code),
            ("mediaPaths", RuleViolation::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            v.message,
            "\"image/gif\" is not a media type Instagram accepts; Instagram accepts \
             image/jpeg (.jpg, .jpeg), image/png (.png), image/heic (.heic), \
             video/mp4 (.mp4, .m4v), video/quicktime (.mov)"
        );
        for mime in ["", "image/tiff", "application/pdf", "video"] {
            assert_eq!(
                check_media_type(Platform::X, mime, None).map_err(|v| v.code),
                Err(RuleViolation::UNSUPPORTED_MEDIA_TYPE),
                "{mime:?}"
            );
        }
        // The type is checked before the size.
        assert_eq!(
            check_media_type(Platform::X, "image/heic", Some(u64::MAX)).map_err(|v| v.code),
            Err(RuleViolation::UNSUPPORTED_MEDIA_TYPE)
        );
    }

    #[test]
    fn sizes_format_for_people() {
        assert_eq!(format_size(0), "0 bytes");
        assert_eq!(format_size(1023), "1023 bytes");
        assert_eq!(format_size(KB), "1 KB");
        assert_eq!(format_size(1536), "1.5 KB");
        assert_eq!(format_size(15 * MB), "15 MB");
        assert_eq!(format_size(4 * GB), "4 GB");
        assert_eq!(format_size(GB + GB / 2), "1.5 GB");
    }

    #[test]
    fn violations_display_and_serialize() {
        let v = validate_post(Platform::Tiktok, "hi", &[]).unwrap_err();
        assert_eq!(v.to_string(), v.message);
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["field"], "mediaPaths");
        assert_eq!(json["code"], "MEDIA_REQUIRED");
        assert_eq!(json["message"], v.message.as_str());
    }
}
