//! Media types Claw Post knows: their MIME types, file extensions and kinds,
//! and how to recognise them from a declared MIME type, a file name or URL,
//! or the first bytes of the file itself.

use serde::Serialize;

/// What a media file is, as far as platform limits care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// A still image (JPEG, PNG, WebP, HEIC/HEIF).
    Image,
    /// An animated GIF: an image for counting, with its own size limit.
    Gif,
    /// A video.
    Video,
}

impl MediaKind {
    /// The wire name (`"image"`, `"gif"`, `"video"`).
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Gif => "gif",
            MediaKind::Video => "video",
        }
    }

    /// The plural noun for messages ("images", "GIFs", "videos").
    pub fn plural(self) -> &'static str {
        match self {
            MediaKind::Image => "images",
            MediaKind::Gif => "GIFs",
            MediaKind::Video => "videos",
        }
    }
}

/// A media type Claw Post recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaType {
    /// The canonical MIME type, lowercase (`"image/jpeg"`).
    pub mime: &'static str,
    /// File extensions, lowercase and without the dot; the first is the usual one.
    pub extensions: &'static [&'static str],
    pub kind: MediaKind,
}

impl MediaType {
    pub const JPEG: MediaType = MediaType::new("image/jpeg", &["jpg", "jpeg"], MediaKind::Image);
    pub const PNG: MediaType = MediaType::new("image/png", &["png"], MediaKind::Image);
    pub const WEBP: MediaType = MediaType::new("image/webp", &["webp"], MediaKind::Image);
    pub const GIF: MediaType = MediaType::new("image/gif", &["gif"], MediaKind::Gif);
    pub const HEIC: MediaType = MediaType::new("image/heic", &["heic"], MediaKind::Image);
    pub const HEIF: MediaType = MediaType::new("image/heif", &["heif"], MediaKind::Image);
    pub const MP4: MediaType = MediaType::new("video/mp4", &["mp4", "m4v"], MediaKind::Video);
    pub const QUICKTIME: MediaType = MediaType::new("video/quicktime", &["mov"], MediaKind::Video);
    pub const WEBM: MediaType = MediaType::new("video/webm", &["webm"], MediaKind::Video);

    const fn new(
        mime: &'static str,
        extensions: &'static [&'static str],
        kind: MediaKind,
    ) -> MediaType {
        MediaType {
            mime,
            extensions,
            kind,
        }
    }
}

/// Every media type Claw Post recognises. Platforms accept subsets of these
/// (the per-platform limits live in `rules.rs`).
pub const MEDIA_TYPES: &[MediaType] = &[
    MediaType::JPEG,
    MediaType::PNG,
    MediaType::WEBP,
    MediaType::GIF,
    MediaType::HEIC,
    MediaType::HEIF,
    MediaType::MP4,
    MediaType::QUICKTIME,
    MediaType::WEBM,
];

/// Non-standard MIME types seen in the wild, with the canonical type they mean.
const MIME_ALIASES: &[(&str, &str)] = &[
    ("image/jpg", "image/jpeg"),
    ("image/pjpeg", "image/jpeg"),
    ("image/x-png", "image/png"),
    ("video/x-m4v", "video/mp4"),
];

/// How many leading bytes of a file [`sniff`] needs to recognise every type.
pub const SNIFF_LEN: usize = 32;

/// Looks a media type up by MIME type, ignoring case, surrounding whitespace
/// and parameters (`"Image/JPEG; charset=binary"` is JPEG). A few common
/// non-standard aliases are understood (`image/jpg`, `image/x-png`, ...).
pub fn media_type_by_mime(mime: &str) -> Option<&'static MediaType> {
    let essence = mime.split(';').next().unwrap_or_default().trim();
    let canonical = MIME_ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(essence))
        .map_or(essence, |&(_, canonical)| canonical);
    MEDIA_TYPES
        .iter()
        .find(|t| t.mime.eq_ignore_ascii_case(canonical))
}

/// Infers a media type from a file name's extension, ignoring case. Works on
/// paths (`/tmp/a.JPG`, `C:\a.png`) and URLs (`https://x.test/v.mp4?sig=1#t=3`):
/// the query and fragment are ignored. Returns `None` without a known extension.
pub fn infer_from_filename(name: &str) -> Option<&'static MediaType> {
    let path = name.split('#').next().unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default();
    let file = path.rsplit(['/', '\\']).next().unwrap_or_default();
    let (stem, extension) = file.rsplit_once('.')?;
    if stem.is_empty() {
        // A dotfile such as `.png` has no extension.
        return None;
    }
    MEDIA_TYPES.iter().find(|t| {
        t.extensions
            .iter()
            .any(|e| e.eq_ignore_ascii_case(extension))
    })
}

/// Recognises a media type from the first bytes of a file (its "magic
/// bytes"); pass at least [`SNIFF_LEN`] bytes when the file has that many.
/// Returns `None` for anything else, including formats no platform takes
/// (AVIF, M4A audio, ...).
pub fn sniff(bytes: &[u8]) -> Option<&'static MediaType> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(&MediaType::JPEG)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1A\n") {
        Some(&MediaType::PNG)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(&MediaType::GIF)
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some(&MediaType::WEBP)
    } else if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        // EBML header: WebM, or Matroska, which browsers play as WebM.
        Some(&MediaType::WEBM)
    } else if bytes.get(4..8) == Some(b"ftyp") {
        iso_bmff_type(bytes.get(8..12)?)
    } else {
        None
    }
}

/// The media type of an ISO base media file (MP4, QuickTime, HEIF) by its
/// major brand.
fn iso_bmff_type(brand: &[u8]) -> Option<&'static MediaType> {
    match brand {
        b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" => Some(&MediaType::HEIC),
        b"mif1" | b"msf1" => Some(&MediaType::HEIF),
        b"qt  " => Some(&MediaType::QUICKTIME),
        // Images and audio that share the container but are not video.
        b"avif" | b"avis" | b"M4A " | b"M4B " | b"M4P " => None,
        // isom, iso2, mp41, mp42, avc1, M4V, dash, 3gp4, ...
        _ => Some(&MediaType::MP4),
    }
}

/// Whether sniffed content is consistent with a declared type: equal, or a
/// pair that is commonly mislabelled yet handled alike (MP4 and QuickTime
/// share one container; HEIC is a HEIF).
pub fn sniff_agrees(declared: &MediaType, sniffed: &MediaType) -> bool {
    const TOLERATED: &[(&str, &str)] = &[
        ("video/mp4", "video/quicktime"),
        ("image/heic", "image/heif"),
    ];
    declared.mime == sniffed.mime
        || TOLERATED.iter().any(|&(a, b)| {
            (declared.mime, sniffed.mime) == (a, b) || (declared.mime, sniffed.mime) == (b, a)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mime_of(t: Option<&MediaType>) -> Option<&'static str> {
        t.map(|t| t.mime)
    }

    /// The first bytes of an ISO-BMFF file with the given major brand.
    fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
        let mut bytes = vec![0, 0, 0, 0x18];
        bytes.extend_from_slice(b"ftyp");
        bytes.extend_from_slice(brand);
        bytes.extend_from_slice(&[0, 0, 0, 0]);
        bytes.extend_from_slice(b"isommp41");
        bytes
    }

    #[test]
    fn media_types_are_unique_and_lowercase() {
        for (i, t) in MEDIA_TYPES.iter().enumerate() {
            assert_eq!(t.mime, t.mime.to_ascii_lowercase());
            assert!(!t.extensions.is_empty(), "{} has no extension", t.mime);
            for (j, other) in MEDIA_TYPES.iter().enumerate().filter(|&(j, _)| j != i) {
                assert_ne!(t.mime, other.mime, "duplicate at {i} and {j}");
                for e in t.extensions {
                    assert_eq!(*e, e.to_ascii_lowercase());
                    assert!(!other.extensions.contains(e), "{e} in two types");
                }
            }
        }
    }

    #[test]
    fn kinds() {
        let kind = |m| media_type_by_mime(m).unwrap().kind;
        assert_eq!(kind("image/jpeg"), MediaKind::Image);
        assert_eq!(kind("image/heif"), MediaKind::Image);
        assert_eq!(kind("image/gif"), MediaKind::Gif);
        assert_eq!(kind("video/webm"), MediaKind::Video);
        assert_eq!(kind("video/quicktime"), MediaKind::Video);
    }

    #[test]
    fn every_type_is_found_by_its_mime_and_extensions() {
        for t in MEDIA_TYPES {
            assert_eq!(media_type_by_mime(t.mime), Some(t));
            for e in t.extensions {
                assert_eq!(infer_from_filename(&format!("file.{e}")), Some(t));
            }
        }
    }

    #[test]
    fn mime_lookup_ignores_case_whitespace_and_parameters() {
        assert_eq!(mime_of(media_type_by_mime("IMAGE/PNG")), Some("image/png"));
        assert_eq!(
            mime_of(media_type_by_mime(" video/MP4 ; codecs=\"avc1\"")),
            Some("video/mp4")
        );
        assert_eq!(
            mime_of(media_type_by_mime("image/jpeg; charset=binary")),
            Some("image/jpeg")
        );
    }

    #[test]
    fn mime_lookup_understands_aliases() {
        assert_eq!(mime_of(media_type_by_mime("image/jpg")), Some("image/jpeg"));
        assert_eq!(
            mime_of(media_type_by_mime("Image/PJPEG")),
            Some("image/jpeg")
        );
        assert_eq!(
            mime_of(media_type_by_mime("image/x-png")),
            Some("image/png")
        );
        assert_eq!(
            mime_of(media_type_by_mime("video/x-m4v")),
            Some("video/mp4")
        );
    }

    #[test]
    fn mime_lookup_rejects_unknown_types() {
        for m in [
            "",
            ";",
            "image/tiff",
            "video/avi",
            "image",
            "text/plain",
            "image/jpegx",
        ] {
            assert_eq!(media_type_by_mime(m), None, "{m:?}");
        }
    }

    #[test]
    fn filename_inference() {
        let cases = [
            ("photo.jpg", Some("image/jpeg")),
            ("PHOTO.JPEG", Some("image/jpeg")),
            ("/home/me/clip.MOV", Some("video/quicktime")),
            ("C:\\Users\\me\\pic.Png", Some("image/png")),
            ("archive.tar.gif", Some("image/gif")),
            ("movie.m4v", Some("video/mp4")),
            ("IMG_0001.HEIC", Some("image/heic")),
            ("https://cdn.test/v/clip.webm", Some("video/webm")),
            ("https://cdn.test/a.webp?sig=abc.png", Some("image/webp")),
            ("https://cdn.test/a.mp4#t=1.png", Some("video/mp4")),
            ("https://cdn.test/a.mp4?x=1#frag", Some("video/mp4")),
            ("https://cdn.test/image?format=png", None),
            ("https://cdn.test/", None),
            ("https://cdn.test.png/photo", None),
            ("noextension", None),
            ("trailingdot.", None),
            (".png", None),
            ("dir.png/file", None),
            ("notes.txt", None),
            ("", None),
        ];
        for (name, expected) in cases {
            assert_eq!(mime_of(infer_from_filename(name)), expected, "{name:?}");
        }
    }

    #[test]
    fn sniffs_images() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];
        assert_eq!(mime_of(sniff(&jpeg)), Some("image/jpeg"));
        let png = b"\x89PNG\r\n\x1A\n\0\0\0\rIHDR";
        assert_eq!(mime_of(sniff(png)), Some("image/png"));
        assert_eq!(mime_of(sniff(b"GIF87a\x01\0")), Some("image/gif"));
        assert_eq!(mime_of(sniff(b"GIF89a\x01\0")), Some("image/gif"));
        assert_eq!(
            mime_of(sniff(b"RIFF\x24\0\0\0WEBPVP8 ")),
            Some("image/webp")
        );
    }

    #[test]
    fn sniffs_iso_bmff_brands() {
        let cases: [(&[u8; 4], Option<&str>); 17] = [
            (b"heic", Some("image/heic")),
            (b"heix", Some("image/heic")),
            (b"hevc", Some("image/heic")),
            (b"hevx", Some("image/heic")),
            (b"heim", Some("image/heic")),
            (b"heis", Some("image/heic")),
            (b"mif1", Some("image/heif")),
            (b"msf1", Some("image/heif")),
            (b"qt  ", Some("video/quicktime")),
            (b"isom", Some("video/mp4")),
            (b"iso2", Some("video/mp4")),
            (b"mp42", Some("video/mp4")),
            (b"M4V ", Some("video/mp4")),
            (b"dash", Some("video/mp4")),
            (b"3gp4", Some("video/mp4")),
            (b"avif", None),
            (b"M4A ", None),
        ];
        for (brand, expected) in cases {
            assert_eq!(
                mime_of(sniff(&ftyp(brand))),
                expected,
                "{}",
                String::from_utf8_lossy(brand)
            );
        }
    }

    #[test]
    fn sniffs_webm() {
        let webm = [0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01];
        assert_eq!(mime_of(sniff(&webm)), Some("video/webm"));
    }

    #[test]
    fn sniff_rejects_unknown_and_truncated_input() {
        let cases: [&[u8]; 9] = [
            b"",
            &[0xFF, 0xD8],
            b"\x89PNG\r\n",
            b"GIF88a",
            b"RIFF\0\0\0\0WAVEfmt ",
            b"RIFF\0\0\0\0WEB",
            b"\0\0\0\x18ftyp",
            b"\0\0\0\x18ftypis",
            b"%PDF-1.7\n",
        ];
        for bytes in cases {
            assert_eq!(sniff(bytes), None, "{bytes:?}");
        }
    }

    #[test]
    fn sniff_needs_no_more_than_sniff_len() {
        let mut long = ftyp(b"qt  ");
        long.resize(SNIFF_LEN * 4, 0xAB);
        assert_eq!(sniff(&long[..SNIFF_LEN]), sniff(&long));
        assert_eq!(mime_of(sniff(&long[..SNIFF_LEN])), Some("video/quicktime"));
    }

    #[test]
    fn sniff_agreement() {
        let t = |m| media_type_by_mime(m).unwrap();
        assert!(sniff_agrees(t("image/png"), t("image/png")));
        assert!(sniff_agrees(t("video/mp4"), t("video/quicktime")));
        assert!(sniff_agrees(t("video/quicktime"), t("video/mp4")));
        assert!(sniff_agrees(t("image/heic"), t("image/heif")));
        assert!(sniff_agrees(t("image/heif"), t("image/heic")));
        assert!(!sniff_agrees(t("image/png"), t("image/jpeg")));
        assert!(!sniff_agrees(t("image/gif"), t("video/mp4")));
        assert!(!sniff_agrees(t("video/webm"), t("video/mp4")));
        assert!(!sniff_agrees(t("image/heic"), t("video/quicktime")));
        assert!(!sniff_agrees(t("image/heif"), t("video/mp4")));
    }

    #[test]
    fn serializes_for_clients() {
        let json = serde_json::to_value(media_type_by_mime("video/mp4").unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"mime": "video/mp4", "extensions": ["mp4", "m4v"], "kind": "video"})
        );
        assert_eq!(serde_json::to_string(&MediaKind::Gif).unwrap(), "\"gif\"");
        for kind in [MediaKind::Image, MediaKind::Gif, MediaKind::Video] {
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
        }
    }
}
