//! Media over HTTP: multipart uploads, the two-step signed upload-URL flow,
//! signature and size enforcement, magic-byte checks, platform refusals,
//! media in jobs, delivery, expiry, and the S3 store (against a local moto
//! server).

use std::process::Stdio;
use std::time::Duration;

use crate::common::{assert_error, external_media, Db, TestApp};
use clawpost_server::settings::Settings;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, BufReader};

const MB: usize = 1024 * 1024;
const HOUR_MS: i64 = 3_600_000;

/// `len` bytes that start like a PNG.
fn png(len: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    b.resize(len.max(b.len()), 0x42);
    b
}

/// `len` bytes that start like a JPEG.
fn jpeg(len: usize) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0];
    b.resize(len.max(b.len()), 0x17);
    b
}

/// `len` bytes that start like an MP4 (ISO BMFF, brand isom).
fn mp4(len: usize) -> Vec<u8> {
    let mut b = b"\0\0\0\x18ftypisom\0\0\0\0isommp41".to_vec();
    b.resize(len.max(b.len()), 0x00);
    b
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// `POST /v1/media/upload` with one file part (and `platform` when given).
async fn multipart(
    app: &TestApp,
    key: &str,
    filename: &str,
    part_type: &str,
    data: Vec<u8>,
    platform: Option<&str>,
) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(data)
        .file_name(filename.to_string())
        .mime_str(part_type)
        .unwrap();
    let mut form = reqwest::multipart::Form::new().part("file", part);
    if let Some(p) = platform {
        form = form.text("platform", p.to_string());
    }
    let resp = app
        .client
        .post(app.url("/v1/media/upload"))
        .header("clawpost-api-key", key)
        .multipart(form)
        .send()
        .await
        .expect("request");
    crate::common::into_parts(resp).await
}

/// `POST /v1/media/upload-url`.
async fn upload_url(app: &TestApp, key: &str, body: Value) -> (StatusCode, Value) {
    app.post_json("/v1/media/upload-url", Some(key), &body)
        .await
}

/// `POST /v1/media/upload-url`, asserting 200.
async fn signed(app: &TestApp, body: Value) -> Value {
    let got = upload_url(app, &app.api_key, body).await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    got.1
}

/// `PUT` raw bytes to a URL with a Content-Type.
async fn put(app: &TestApp, url: &str, content_type: &str, data: Vec<u8>) -> (StatusCode, Value) {
    let resp = app
        .client
        .put(url)
        .header("content-type", content_type)
        .body(data)
        .send()
        .await
        .expect("request");
    crate::common::into_parts(resp).await
}

/// GET a media URL without any credential: status, Content-Type, bytes.
async fn fetch(app: &TestApp, url: &str) -> (StatusCode, String, Vec<u8>) {
    let resp = app.client.get(url).send().await.expect("request");
    let status = resp.status();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    // Answers of this server (not of the S3 store a GET may redirect to).
    let ours = resp.url().as_str().starts_with(&app.base);
    if ours {
        assert_eq!(header("x-content-type-options"), "nosniff", "{url}");
    }
    if ours && status == StatusCode::OK {
        // Media never renders as a page of the API's origin.
        assert!(header("content-disposition").starts_with("inline; filename=\""));
        assert_eq!(
            header("content-security-policy"),
            "default-src 'none'; sandbox"
        );
    }
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, ct, resp.bytes().await.unwrap().to_vec())
}

/// Creates a post job with `key`; returns status and body.
async fn job(app: &TestApp, key: &str, platform: &str, media: &[&str]) -> (StatusCode, Value) {
    app.post_json(
        "/v1/jobs/tweet",
        Some(key),
        &json!({"text": "with media", "platform": platform, "mediaPaths": media}),
    )
    .await
}

/// The path (and query) of a URL of the app, as a string.
fn with_signature(url: &str, signature: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "signature" {
                signature.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

/// The URL's signature with its first hex digit changed.
fn tampered(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    let sig = u
        .query_pairs()
        .find(|(k, _)| k == "signature")
        .unwrap()
        .1
        .into_owned();
    let first = if sig.starts_with('0') { "1" } else { "0" };
    with_signature(url, &format!("{first}{}", &sig[1..]))
}

both_stores!(multipart_upload_round_trip, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let data = png(4096);
    let (s, body) = multipart(
        &app,
        &app.api_key,
        "Holiday Photo.PNG",
        "image/png",
        data.clone(),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["contentType"], "image/png");
    assert_eq!(body["bytes"], 4096);
    assert_eq!(body["sha256"], sha256_hex(&data));
    let url = body["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/v1/media/objects/", app.base)),
        "{url}"
    );
    assert!(url.contains("/Holiday_Photo.png?"), "{url}");

    // Readable with no API key: the signature is the credential.
    let (s, ct, bytes) = fetch(&app, url).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "image/png"));
    assert_eq!(bytes, data);
    // ... and not without it.
    let (s, _, _) = fetch(&app, &tampered(url)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let unsigned = url.split('?').next().unwrap();
    let got = app
        .get(unsigned.strip_prefix(&app.base).unwrap(), None)
        .await;
    assert_error(&got, StatusCode::FORBIDDEN, "SIGNATURE_INVALID", None);

    // The bytes count in usage.
    let usage = app.usage(&app.api_key).await;
    assert_eq!(usage["mediaBytes"], 4096);

    // No key, no upload.
    let got = multipart(&app, "claw_wrong", "a.png", "image/png", png(100), None).await;
    assert_eq!(got.0, StatusCode::UNAUTHORIZED);
    // A form without a file part.
    let form = reqwest::multipart::Form::new().text("platform", "x");
    let resp = app
        .client
        .post(app.url("/v1/media/upload"))
        .header("clawpost-api-key", &app.api_key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_error(
        &crate::common::into_parts(resp).await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        Some("file"),
    );
});

both_stores!(reference_two_step_upload_with_curl, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let dev = app.pair_device(&app.api_key.clone()).await;
    let data = mp4(300_000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("video.mp4");
    std::fs::write(&file, &data).unwrap();

    // Step 1, as in the reference.
    let issued = signed(
        &app,
        json!({"filename": "video.mp4", "platform": "tiktok", "contentType": "video/mp4", "bytes": data.len()}),
    )
    .await;
    assert_eq!(issued["resolvedContentType"], "video/mp4");
    assert_eq!(issued["expiresAt"], crate::common::T0 + 24 * HOUR_MS);
    assert_eq!(issued["uploadExpiresAt"], crate::common::T0 + HOUR_MS);
    let upload_url = issued["uploadUrl"].as_str().unwrap();
    let url = issued["url"].as_str().unwrap();

    // Not readable before the upload.
    let (s, _, _) = fetch(&app, url).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A job cannot use it yet either.
    let got = job(&app, &app.api_key, "tiktok", &[url]).await;
    assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "MEDIA_NOT_UPLOADED",
        Some("mediaPaths[0]"),
    );

    // Step 2: PUT the file, with curl.
    let out = tokio::process::Command::new("curl")
        .args([
            "-sS",
            "-X",
            "PUT",
            "-H",
            "Content-Type: video/mp4",
            "--data-binary",
        ])
        .arg(format!("@{}", file.display()))
        .args(["-w", "\n%{http_code}", upload_url])
        .output()
        .await
        .expect("curl runs");
    let out = String::from_utf8(out.stdout).unwrap();
    let (body, code) = out.rsplit_once('\n').unwrap();
    assert_eq!(code, "200", "{body}");
    let put: Value = serde_json::from_str(body).unwrap();
    assert_eq!(put["bytes"], data.len());
    assert_eq!(put["sha256"], sha256_hex(&data));
    assert_eq!(put["url"], url);

    // The job takes the URL; the extension gets it and can fetch the bytes.
    let (s, created) = job(&app, &app.api_key, "tiktok", &[url]).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let leased = app.pull_job(&dev).await;
    assert_eq!(leased["mediaPaths"], json!([url]));
    let (s, ct, bytes) = fetch(&app, leased["mediaPaths"][0].as_str().unwrap()).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "video/mp4"));
    assert!(bytes == data, "served bytes differ from the upload");
    assert_eq!(app.usage(&app.api_key).await["mediaBytes"], data.len());
});

both_stores!(signed_put_is_enforced, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let data = jpeg(1000);
    let issued = signed(&app, json!({"filename": "photo.jpeg", "bytes": 1000})).await;
    assert_eq!(issued["resolvedContentType"], "image/jpeg");
    let upload = issued["uploadUrl"].as_str().unwrap();

    // Wrong Content-Type.
    for ct in ["image/png", "image/jpg", "IMAGE/JPEG", ""] {
        let got = put(&app, upload, ct, data.clone()).await;
        assert_error(&got, StatusCode::FORBIDDEN, "CONTENT_TYPE_MISMATCH", None);
    }
    // Tampered or missing signature.
    let got = put(&app, &tampered(upload), "image/jpeg", data.clone()).await;
    assert_error(&got, StatusCode::FORBIDDEN, "SIGNATURE_INVALID", None);
    let got = put(
        &app,
        upload.split('?').next().unwrap(),
        "image/jpeg",
        data.clone(),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "SIGNATURE_INVALID", None);
    // A GET signature does not authorize a PUT.
    let read_sig = url::Url::parse(issued["url"].as_str().unwrap())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "signature")
        .unwrap()
        .1
        .into_owned();
    let got = put(
        &app,
        &with_signature(upload, &read_sig),
        "image/jpeg",
        data.clone(),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "SIGNATURE_INVALID", None);
    // Longer than declared: by Content-Length, and streamed without one.
    let got = put(&app, upload, "image/jpeg", jpeg(1001)).await;
    assert_error(
        &got,
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        None,
    );
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(jpeg(600)), Ok(vec![7; 600])];
    let resp = app
        .client
        .put(upload)
        .header("content-type", "image/jpeg")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_error(
        &crate::common::into_parts(resp).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        None,
    );
    // Shorter than declared.
    let got = put(&app, upload, "image/jpeg", jpeg(999)).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "INCOMPLETE_UPLOAD", None);

    // Failed attempts leave the URL usable: the real upload succeeds, once.
    let (s, body) = put(&app, upload, "image/jpeg", data.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["sha256"], sha256_hex(&data));
    let got = put(&app, upload, "image/jpeg", data.clone()).await;
    assert_error(&got, StatusCode::CONFLICT, "ALREADY_UPLOADED", None);
    let (s, _, bytes) = fetch(&app, issued["url"].as_str().unwrap()).await;
    assert_eq!((s, bytes), (StatusCode::OK, data.clone()));

    // The upload window is one hour.
    let late = signed(&app, json!({"filename": "late.jpg"})).await;
    app.clock.advance_ms(HOUR_MS - 1);
    let early = signed(&app, json!({"filename": "early.jpg"})).await;
    app.clock.advance_ms(1);
    let got = put(
        &app,
        late["uploadUrl"].as_str().unwrap(),
        "image/jpeg",
        data.clone(),
    )
    .await;
    assert_error(&got, StatusCode::FORBIDDEN, "SIGNATURE_EXPIRED", None);
    let (s, body) = put(
        &app,
        early["uploadUrl"].as_str().unwrap(),
        "image/jpeg",
        data.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
});

both_stores!(
    multipart_over_30_mb_points_to_upload_url,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let got = multipart(
            &app,
            &app.api_key,
            "big.png",
            "image/png",
            png(30 * MB + 1),
            None,
        )
        .await;
        assert_error(&got, StatusCode::PAYLOAD_TOO_LARGE, "FILE_TOO_LARGE", None);
        assert!(
            got.1["error"]
                .as_str()
                .unwrap()
                .contains("/v1/media/upload-url"),
            "{}",
            got.1
        );
        // Exactly 30 MB still goes through.
        let (s, body) = multipart(
            &app,
            &app.api_key,
            "clip.mp4",
            "video/mp4",
            mp4(30 * MB),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        assert_eq!(body["bytes"], 30 * MB);
        // An image no platform takes at that size is refused as such.
        let got = multipart(
            &app,
            &app.api_key,
            "big.png",
            "image/png",
            png(21 * MB),
            None,
        )
        .await;
        assert_error(
            &got,
            StatusCode::BAD_REQUEST,
            "MEDIA_TOO_LARGE",
            Some("file"),
        );
    }
);

both_stores!(content_must_match_the_declared_type, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    // PNG bytes named .jpg.
    let got = multipart(
        &app,
        &app.api_key,
        "photo.jpg",
        "application/octet-stream",
        png(500),
        None,
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "MEDIA_TYPE_MISMATCH", None);
    // A part type that contradicts the name.
    let got = multipart(&app, &app.api_key, "photo.jpg", "image/png", png(500), None).await;
    assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "CONTENT_TYPE_MISMATCH",
        Some("file"),
    );
    // Not media at all.
    let got = multipart(
        &app,
        &app.api_key,
        "notes.mp4",
        "video/mp4",
        b"%PDF-1.7 ...".to_vec(),
        None,
    )
    .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "MEDIA_TYPE_MISMATCH", None);

    // PNG bytes PUT to a URL issued for a JPEG.
    let issued = signed(
        &app,
        json!({"filename": "photo.jpg", "contentType": "image/jpeg"}),
    )
    .await;
    let upload = issued["uploadUrl"].as_str().unwrap();
    let got = put(&app, upload, "image/jpeg", png(500)).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "MEDIA_TYPE_MISMATCH", None);
    // A tiny body is sniffed too.
    let got = put(&app, upload, "image/jpeg", vec![0xFF, 0xD8]).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "MEDIA_TYPE_MISMATCH", None);
    let got = put(&app, upload, "image/jpeg", Vec::new()).await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
    // MP4 and QuickTime share a container: tolerated.
    let mov = signed(&app, json!({"filename": "clip.mov"})).await;
    let (s, body) = put(
        &app,
        mov["uploadUrl"].as_str().unwrap(),
        "video/quicktime",
        mp4(2000),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // The JPEG URL still takes the right bytes.
    let (s, body) = put(&app, upload, "image/jpeg", jpeg(500)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
});

both_stores!(
    types_and_platforms_are_checked_before_upload,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let key = app.api_key.clone();
        let refused = |body: Value, code: &'static str, field: &'static str| {
            let app = &app;
            let key = key.clone();
            async move {
                let got = upload_url(app, &key, body.clone()).await;
                assert_error(&got, StatusCode::BAD_REQUEST, code, Some(field));
            }
        };
        refused(
            json!({"filename": "IMG_1.HEIC", "platform": "x"}),
            "UNSUPPORTED_MEDIA_TYPE",
            "filename",
        )
        .await;
        refused(
            json!({"filename": "clip.webm", "platform": "instagram"}),
            "UNSUPPORTED_MEDIA_TYPE",
            "filename",
        )
        .await;
        refused(
            json!({"filename": "anim.gif", "platform": "tiktok"}),
            "UNSUPPORTED_MEDIA_TYPE",
            "filename",
        )
        .await;
        refused(
            json!({"filename": "a.jpg", "platform": "instagram", "contentType": "image/heic"}),
            "CONTENT_TYPE_MISMATCH",
            "contentType",
        )
        .await;
        refused(
            json!({"filename": "video.mp4", "contentType": "image/jpeg"}),
            "CONTENT_TYPE_MISMATCH",
            "contentType",
        )
        .await;
        refused(
            json!({"filename": "a.png", "contentType": "image/tiff"}),
            "UNSUPPORTED_MEDIA_TYPE",
            "contentType",
        )
        .await;
        refused(
            json!({"filename": "notes.txt"}),
            "UNSUPPORTED_MEDIA_TYPE",
            "filename",
        )
        .await;
        refused(
            json!({"filename": "noextension"}),
            "UNSUPPORTED_MEDIA_TYPE",
            "filename",
        )
        .await;
        refused(json!({"filename": ""}), "INVALID_REQUEST", "filename").await;
        refused(
            json!({"filename": "a.png", "platform": "x", "bytes": 5 * MB + 1}),
            "MEDIA_TOO_LARGE",
            "bytes",
        )
        .await;
        refused(
            json!({"filename": "a.mp4", "platform": "x", "bytes": 513 * MB}),
            "MEDIA_TOO_LARGE",
            "bytes",
        )
        .await;
        refused(
            json!({"filename": "a.mp4", "bytes": 0}),
            "INVALID_REQUEST",
            "bytes",
        )
        .await;
        refused(
            json!({"filename": "a.mp4", "platform": "myspace"}),
            "UNKNOWN_PLATFORM",
            "platform",
        )
        .await;
        let got = upload_url(&app, &key, json!({"platform": "x"})).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "INVALID_REQUEST", None);
        let got = upload_url(&app, "claw_nope", json!({"filename": "a.png"})).await;
        assert_eq!(got.0, StatusCode::UNAUTHORIZED);

        // What the platforms do take.
        for (filename, platform, mime) in [
            ("a.heic", "instagram", "image/heic"),
            ("a.webm", "tiktok", "video/webm"),
            ("a.webp", "tiktok", "image/webp"),
            ("a.mov", "x", "video/quicktime"),
            ("a.gif", "linkedin", "image/gif"),
            ("a.jpg", "facebook", "image/jpeg"),
        ] {
            let issued = signed(&app, json!({"filename": filename, "platform": platform})).await;
            assert_eq!(
                issued["resolvedContentType"], mime,
                "{filename} on {platform}"
            );
        }
        // An agreeing override is the resolved type.
        let issued = signed(
            &app,
            json!({"filename": "clip.mp4", "contentType": "video/quicktime"}),
        )
        .await;
        assert_eq!(issued["resolvedContentType"], "video/quicktime");

        // The multipart upload checks the platform too.
        let got = multipart(
            &app,
            &key,
            "clip.webm",
            "video/webm",
            vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F],
            Some("instagram"),
        )
        .await;
        assert_error(
            &got,
            StatusCode::BAD_REQUEST,
            "UNSUPPORTED_MEDIA_TYPE",
            Some("file"),
        );
        let got = multipart(
            &app,
            &key,
            "big.png",
            "image/png",
            png(5 * MB + 1),
            Some("x"),
        )
        .await;
        assert_error(
            &got,
            StatusCode::BAD_REQUEST,
            "MEDIA_TOO_LARGE",
            Some("file"),
        );
    }
);

both_stores!(jobs_take_only_the_tenants_live_media, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let key = app.api_key.clone();
    app.pair_device(&key).await;
    let (other, other_dev) = app.paired_tenant(100).await;
    let _ = other_dev;

    let (s, mine) = multipart(&app, &key, "mine.png", "image/png", png(800), None).await;
    assert_eq!(s, StatusCode::CREATED);
    let mine = mine["url"].as_str().unwrap().to_string();

    // Another tenant cannot use it.
    let got = job(&app, &other.key, "x", &[&mine]).await;
    assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "UNKNOWN_MEDIA",
        Some("mediaPaths[0]"),
    );
    // Unknown media under this server's prefix.
    let unknown = mine.replacen("/objects/", "/objects/0", 1);
    let got = job(&app, &key, "x", &[&unknown]).await;
    assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "UNKNOWN_MEDIA",
        Some("mediaPaths[0]"),
    );
    let renamed = mine.replace("/mine.png?", "/other.png?");
    let got = job(&app, &key, "x", &[&renamed]).await;
    assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "UNKNOWN_MEDIA",
        Some("mediaPaths[0]"),
    );
    let got = job(&app, &key, "x", &[&tampered(&mine)]).await;
    assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "UNKNOWN_MEDIA",
        Some("mediaPaths[0]"),
    );
    // External URLs are refused unless the operator allows them.
    let got = job(
        &app,
        &key,
        "x",
        &[&mine, "https://storage.googleapis.com/b/a.png"],
    )
    .await;
    assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "EXTERNAL_MEDIA_NOT_ALLOWED",
        Some("mediaPaths[1]"),
    );

    // The owner's job takes it; the platform rules see the real type and size.
    let (s, created) = job(&app, &key, "x", &[&mine]).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["mediaPaths"], json!([mine]));
    let got = job(&app, &key, "tiktok", &[&mine, &mine]).await;
    assert_eq!(got.0, StatusCode::CREATED, "{}", got.1);
    let (s, big) = multipart(&app, &key, "big.png", "image/png", png(5 * MB + 1), None).await;
    assert_eq!(s, StatusCode::CREATED, "{big}");
    let got = job(&app, &key, "x", &[big["url"].as_str().unwrap()]).await;
    assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "MEDIA_TOO_LARGE",
        Some("mediaPaths[0]"),
    );
    let got = job(&app, &key, "linkedin", &[big["url"].as_str().unwrap()]).await;
    assert_eq!(got.0, StatusCode::CREATED, "{}", got.1);
    // HEIC named .heic, checked by record: Instagram takes it, X does not.
    let heic = {
        let mut b = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
        b.resize(700, 1);
        b
    };
    let (s, h) = multipart(&app, &key, "IMG.HEIC", "image/heic", heic, None).await;
    assert_eq!(s, StatusCode::CREATED, "{h}");
    let h = h["url"].as_str().unwrap();
    let got = job(&app, &key, "x", &[h]).await;
    assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "UNSUPPORTED_MEDIA_TYPE",
        Some("mediaPaths"),
    );
    assert_eq!(
        job(&app, &key, "instagram", &[h]).await.0,
        StatusCode::CREATED
    );

    // After 24 hours the media is expired: jobs refuse it, GET says 410.
    app.clock.advance_ms(24 * HOUR_MS);
    let got = job(&app, &key, "x", &[&mine]).await;
    assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "MEDIA_EXPIRED",
        Some("mediaPaths[0]"),
    );
    let (s, _, _) = fetch(&app, &mine).await;
    assert_eq!(s, StatusCode::GONE);
});

both_stores!(
    external_media_when_the_operator_allows_it,
    |db: Db| async move {
        let app = TestApp::spawn_with(db, external_media()).await;
        app.pair_device(&app.api_key.clone()).await;
        let url = "https://storage.googleapis.com/bucket/clip.mp4";
        let (s, body) = job(&app, &app.api_key, "tiktok", &[url]).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        // Own URLs are still checked.
        let got = job(
            &app,
            &app.api_key,
            "x",
            &[&format!(
                "{}/v1/media/objects/nope/a.png?expires=1&signature=00",
                app.base
            )],
        )
        .await;
        assert_error(
            &got,
            StatusCode::BAD_REQUEST,
            "UNKNOWN_MEDIA",
            Some("mediaPaths[0]"),
        );
    }
);

both_stores!(expired_media_is_swept, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let (s, body) = multipart(&app, &app.api_key, "old.png", "image/png", png(1234), None).await;
    assert_eq!(s, StatusCode::CREATED);
    let url = body["url"].as_str().unwrap();
    let pending = signed(&app, json!({"filename": "never.mp4"})).await;
    let media_dir = app.state.settings.media_dir.clone();
    let files = || walk(&media_dir);
    assert_eq!(files().len(), 1);

    // Nothing is due yet.
    assert_eq!(
        clawpost_server::app::media::sweep(&app.state)
            .await
            .unwrap(),
        0
    );
    // The unused upload URL closes after an hour: its record is settled.
    app.clock.advance_ms(HOUR_MS);
    assert_eq!(
        clawpost_server::app::media::sweep(&app.state)
            .await
            .unwrap(),
        1
    );
    let got = put(
        &app,
        pending["uploadUrl"].as_str().unwrap(),
        "video/mp4",
        mp4(100),
    )
    .await;
    assert_eq!(got.0, StatusCode::FORBIDDEN, "{}", got.1);
    assert_eq!(files().len(), 1, "the uploaded file stays for 24 hours");

    app.clock.advance_ms(23 * HOUR_MS);
    assert_eq!(
        clawpost_server::app::media::sweep(&app.state)
            .await
            .unwrap(),
        1
    );
    assert!(
        files().is_empty(),
        "expired media is deleted: {:?}",
        files()
    );
    assert_eq!(
        clawpost_server::app::media::sweep(&app.state)
            .await
            .unwrap(),
        0
    );
    let (s, _, _) = fetch(&app, url).await;
    assert_eq!(s, StatusCode::GONE);
    // Usage of the period still counts what was uploaded.
    assert_eq!(app.usage(&app.api_key).await["mediaBytes"], 1234);
});

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn the_media_endpoints_are_documented() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let (s, doc) = app.get("/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    for path in [
        "/v1/media/upload",
        "/v1/media/upload-url",
        "/v1/media/objects/{id}/{name}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(doc["paths"]["/v1/media/objects/{id}/{name}"]["put"].is_object());
    assert!(doc["components"]["schemas"]["UploadUrlView"].is_object());
}

// ---------------------------------------------------------------------------
// S3 (moto)

/// A moto S3 server on a random port, killed on drop.
struct Moto {
    endpoint: String,
    _child: tokio::process::Child,
}

/// Starts moto and creates a bucket; None (the test skips) when moto is not installed.
async fn moto(bucket: &str) -> Option<Moto> {
    let spawned = tokio::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("SKIPPED: moto is not installed (pip install 'moto[server]'; ./build.sh test installs it)");
            return None;
        }
        Err(e) => panic!("moto_server: {e}"),
    };
    // moto announces its port on stderr: "Running on http://127.0.0.1:PORT".
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let endpoint = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("moto stderr") {
            if let Some(i) = line.find("http://127.0.0.1:") {
                return line[i..].trim().to_string();
            }
        }
        panic!("moto exited before listening");
    })
    .await
    .expect("moto starts within a minute");
    // Keep draining its log so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let resp = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("moto reachable");
    assert!(
        resp.status().is_success(),
        "create bucket: {}",
        resp.status()
    );
    Some(Moto {
        endpoint,
        _child: child,
    })
}

both_stores!(s3_store_against_moto, |db: Db| async move {
    let Some(moto) = moto("clawpost-media").await else {
        return;
    };
    let settings = Settings {
        media_store_url: Some(format!(
            "s3://clawpost-media/uploads?endpoint={}&region=us-east-1&access_key_id=test&secret_access_key=test",
            moto.endpoint
        )),
        ..Settings::default()
    };
    let app = TestApp::spawn_with(db, settings).await;
    let dev = app.pair_device(&app.api_key.clone()).await;
    let http = reqwest::Client::new();

    // The store presigns the upload URL: the client PUTs to S3 directly.
    let data = mp4(200_000);
    let issued = signed(
        &app,
        json!({"filename": "clip.mp4", "platform": "x", "bytes": data.len()}),
    )
    .await;
    let upload = issued["uploadUrl"].as_str().unwrap();
    assert!(
        upload.starts_with(&format!("{}/clawpost-media/uploads/", moto.endpoint)),
        "{upload}"
    );
    assert!(upload.contains("X-Amz-Signature="), "{upload}");
    let url = issued["url"].as_str().unwrap();
    assert!(url.starts_with(&app.base), "{url}");

    // Before the upload, a job cannot use it.
    let got = job(&app, &app.api_key, "x", &[url]).await;
    assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "MEDIA_NOT_UPLOADED",
        Some("mediaPaths[0]"),
    );
    let resp = http
        .put(upload)
        .header("content-type", "video/mp4")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "S3 PUT: {}", resp.status());
    // Verified on use: size and magic bytes.
    let (s, created) = job(&app, &app.api_key, "x", &[url]).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let leased = app.pull_job(&dev).await;
    assert_eq!(leased["mediaPaths"], json!([url]));
    // The URL redirects to a presigned S3 GET; the client ends with the bytes.
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TEMPORARY_REDIRECT);
    let location = resp.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(&moto.endpoint), "{location}");
    let (s, _, bytes) = fetch(&app, url).await;
    assert_eq!(s, StatusCode::OK);
    assert!(bytes == data, "S3 served different bytes");
    assert_eq!(app.usage(&app.api_key).await["mediaBytes"], data.len());

    // A direct upload whose bytes are not the declared type is refused on use.
    let jpg = signed(&app, json!({"filename": "photo.jpg"})).await;
    let resp = http
        .put(jpg["uploadUrl"].as_str().unwrap())
        .header("content-type", "image/jpeg")
        .body(png(3000))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let got = job(&app, &app.api_key, "x", &[jpg["url"].as_str().unwrap()]).await;
    assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "MEDIA_TYPE_MISMATCH",
        Some("mediaPaths[0]"),
    );
    // ... and so is one longer than announced.
    let short = signed(&app, json!({"filename": "s.mp4", "bytes": 1000})).await;
    http.put(short["uploadUrl"].as_str().unwrap())
        .header("content-type", "video/mp4")
        .body(mp4(2000))
        .send()
        .await
        .unwrap();
    let got = job(&app, &app.api_key, "x", &[short["url"].as_str().unwrap()]).await;
    assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "MEDIA_TOO_LARGE",
        Some("mediaPaths[0]"),
    );

    // Multipart uploads go through the server into the bucket.
    let small = png(5000);
    let (s, body) = multipart(
        &app,
        &app.api_key,
        "s3.png",
        "image/png",
        small.clone(),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, ct, bytes) = fetch(&app, body["url"].as_str().unwrap()).await;
    assert_eq!(
        (s, ct.as_str(), bytes),
        (StatusCode::OK, "image/png", small)
    );
    // The local PUT route does not take uploads for an S3 store.
    let local_put = upload.replacen(
        &format!("{}/clawpost-media/uploads", moto.endpoint),
        &format!("{}/v1/media/objects", app.base),
        1,
    );
    let got = put(&app, &local_put, "video/mp4", data.clone()).await;
    assert_eq!(got.0, StatusCode::FORBIDDEN, "{}", got.1);

    // Expired media is deleted from the bucket by the sweeper.
    app.clock.advance_ms(24 * HOUR_MS);
    assert!(
        clawpost_server::app::media::sweep(&app.state)
            .await
            .unwrap()
            >= 3
    );
    let (s, _, _) = fetch(&app, url).await;
    assert_eq!(s, StatusCode::GONE);
    let key = upload.split('?').next().unwrap();
    let gone = http.get(key).send().await.unwrap().status();
    assert_eq!(gone, StatusCode::NOT_FOUND, "the object is deleted from S3");
});

both_stores!(
    the_media_quota_counts_bytes_over_24_hours,
    |db: Db| async move {
        let settings = Settings {
            media_quota_bytes: 10_000,
            ..Settings::default()
        };
        let app = TestApp::spawn_with(db, settings).await;
        let key = app.api_key.clone();
        // Declared sizes are checked when the URL is issued.
        let over = upload_url(&app, &key, json!({"filename": "a.png", "bytes": 10_001})).await;
        assert_error(&over, StatusCode::FORBIDDEN, "MEDIA_QUOTA_EXCEEDED", None);
        // 6,000 bytes fit; the next 6,000 do not, whichever way they come.
        let (s, _) = multipart(&app, &key, "a.png", "image/png", png(6_000), None).await;
        assert_eq!(s, StatusCode::CREATED);
        let again = multipart(&app, &key, "b.png", "image/png", png(6_000), None).await;
        assert_error(&again, StatusCode::FORBIDDEN, "MEDIA_QUOTA_EXCEEDED", None);
        // Undeclared, the signed PUT is cut off while its bytes arrive.
        let url = signed(&app, json!({"filename": "c.png"})).await;
        let put_over = put(
            &app,
            url["uploadUrl"].as_str().unwrap(),
            "image/png",
            png(6_000),
        )
        .await;
        assert_error(
            &put_over,
            StatusCode::FORBIDDEN,
            "MEDIA_QUOTA_EXCEEDED",
            None,
        );
        // What fits still goes through, on the same URL.
        let fits = put(
            &app,
            url["uploadUrl"].as_str().unwrap(),
            "image/png",
            png(3_000),
        )
        .await;
        assert_eq!(fits.0, StatusCode::OK, "{}", fits.1);
        // Another tenant has its own quota; a day later this one's is free again.
        let (_, other) = app.new_tenant(1000).await;
        let (s, _) = multipart(&app, &other, "d.png", "image/png", png(6_000), None).await;
        assert_eq!(s, StatusCode::CREATED);
        app.clock.advance_ms(24 * HOUR_MS + 1);
        let (s, _) = multipart(&app, &key, "e.png", "image/png", png(6_000), None).await;
        assert_eq!(s, StatusCode::CREATED);
    }
);

both_stores!(
    a_tenant_runs_at_most_four_uploads_at_once,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let mut held = Vec::new();
        let mut urls = Vec::new();
        for i in 0..5 {
            let url = signed(
                &app,
                json!({"filename": format!("{i}.png"), "bytes": 2_000}),
            )
            .await;
            urls.push(url["uploadUrl"].as_str().unwrap().to_string());
        }
        // Four uploads that send their first bytes and then wait.
        for url in &urls[..4] {
            let (tx, rx) = futures::channel::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
            let mut tx = tx;
            futures::SinkExt::send(&mut tx, Ok(png(1_000)))
                .await
                .unwrap();
            let body = reqwest::Body::wrap_stream(rx);
            let req = app
                .client
                .put(url)
                .header("content-type", "image/png")
                .header("content-length", "2000")
                .body(body)
                .send();
            held.push((tx, tokio::spawn(req)));
        }
        // Once the four are receiving bytes (their media is `uploading`, which
        // happens after each took its slot), a fifth upload is refused.
        let ids: Vec<String> = urls[..4]
            .iter()
            .map(|u| {
                u.split("/v1/media/objects/")
                    .nth(1)
                    .unwrap()
                    .split('/')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let mut uploading = 0;
            for id in &ids {
                let m = app.state.store.media(id).await.unwrap().unwrap();
                uploading +=
                    usize::from(m.status == clawpost_server::store::MediaStatus::Uploading);
            }
            if uploading == 4 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the four uploads did not start"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let fifth = put(&app, &urls[4], "image/png", png(2_000)).await;
        assert_error(&fifth, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", None);
        assert!(fifth_has_retry_after(&app, &urls[4]).await);
        // Finishing one frees a slot.
        let (mut tx, req) = held.pop().unwrap();
        futures::SinkExt::send(&mut tx, Ok(vec![0u8; 1_000]))
            .await
            .unwrap();
        drop(tx);
        let done = req.await.unwrap().unwrap();
        assert_eq!(done.status(), StatusCode::OK);
        let got = put(&app, &urls[4], "image/png", png(2_000)).await;
        assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    }
);

/// Whether a refused upload says when to come back.
async fn fifth_has_retry_after(app: &TestApp, url: &str) -> bool {
    let resp = app
        .client
        .put(url)
        .header("content-type", "image/png")
        .body(png(2_000))
        .send()
        .await
        .unwrap();
    resp.status() == StatusCode::TOO_MANY_REQUESTS && resp.headers().contains_key("retry-after")
}
