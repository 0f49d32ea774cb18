//! The agent API over HTTP: creating jobs, reading them, usage, validation,
//! authentication, quota, idempotency and tenant isolation.

use crate::common::{assert_error, Db, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const TWEET: &str = "/v1/jobs/tweet";
const JOBS: &str = "/v1/jobs";

/// A server whose first tenant has a paired device.
async fn paired_app(db: Db) -> TestApp {
    let app = TestApp::spawn_with(db, crate::common::external_media()).await;
    app.pair_device(&app.api_key).await;
    app
}

both_stores!(create_post_on_each_endpoint, |db: Db| async move {
    let app = paired_app(db).await;
    let (s, job) = app
        .post_json(TWEET, Some(&app.api_key), &json!({"text": "Hello"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{job}");
    assert_eq!(job["type"], "post");
    assert_eq!(job["platform"], "x", "X is the default platform");
    assert_eq!(job["status"], "queued");
    assert_eq!(job["text"], "Hello");
    assert_eq!(job["tenantId"], app.tenant_id.as_str());
    assert_eq!(job["mediaPaths"], json!([]));
    assert_eq!(job["createdAt"], crate::common::T0);
    assert_eq!(job["updatedAt"], crate::common::T0);
    assert_eq!(job["attempts"], 0);

    let (s, job) = app
        .post_json(
            JOBS,
            Some(&app.api_key),
            &json!({"type": "post", "text": "Hi", "platform": "facebook",
                    "mediaPaths": ["https://cdn.example.com/a.png"],
                    "platformPayload": {"groupUrl": "https://www.facebook.com/groups/1577315533418837"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{job}");
    assert_eq!(job["platform"], "facebook");
    assert_eq!(job["mediaPaths"], json!(["https://cdn.example.com/a.png"]));
    assert_eq!(
        job["platformPayload"],
        json!({"groupUrl": "https://www.facebook.com/groups/1577315533418837"})
    );
});

both_stores!(create_group_jobs, |db: Db| async move {
    let app = paired_app(db).await;
    for (kind, payload) in [
        (
            "facebook_group_join",
            json!({"groupId": "1577315533418837"}),
        ),
        (
            "facebook_group_status",
            json!({"groupUrl": "https://www.facebook.com/groups/claw.post"}),
        ),
    ] {
        let (s, job) = app
            .post_json(
                JOBS,
                Some(&app.api_key),
                &json!({"type": kind, "platform": "facebook", "platformPayload": payload}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{job}");
        assert_eq!(job["type"], kind);
        assert_eq!(job["text"], "");
        assert_eq!(job["platformPayload"], payload);
    }
    let group = |extra: Value| {
        let mut body = json!({"type": "facebook_group_join", "platform": "facebook"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let key = Some(app.api_key.as_str());
    assert_error(
        &app.post_json(JOBS, key, &group(json!({}))).await,
        StatusCode::BAD_REQUEST,
        "GROUP_REQUIRED",
        Some("platformPayload"),
    );
    assert_error(
        &app.post_json(
            JOBS,
            key,
            &group(json!({"text": "hi", "platformPayload": {"groupId": "1"}})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        Some("text"),
    );
    assert_error(
        &app.post_json(
            JOBS,
            key,
            &group(json!({"platformPayload": {"groupId": "1", "groupUrl": "https://www.facebook.com/groups/1"}})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        Some("platformPayload"),
    );
    assert_error(
        &app.post_json(
            JOBS,
            key,
            &json!({"type": "facebook_group_status", "platform": "linkedin"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        Some("platform"),
    );
    assert_error(
        &app.post_json(JOBS, key, &json!({"type": "repost", "text": "hi"}))
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        Some("type"),
    );
});

both_stores!(
    job_view_hides_content_from_all_but_the_owner,
    |db: Db| async move {
        let app = paired_app(db).await;
        let (s, created) = app
            .post_json(
                JOBS,
                Some(&app.api_key),
                &json!({"text": "Secret draft", "platform": "facebook", "idempotencyKey": "k1",
                    "mediaPaths": ["https://cdn.example.com/a.png"],
                    "platformPayload": {"groupId": "1577315533418837"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let id = created["id"].as_str().unwrap();
        let (_other, other_key) = app.new_tenant(10).await;

        for key in [None, Some(other_key.as_str()), Some("claw_not_a_real_key")] {
            let public = app.job(id, key).await;
            let keys: Vec<&str> = public
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            for hidden in [
                "text",
                "mediaPaths",
                "tenantId",
                "platformPayload",
                "idempotencyKey",
                "attempts",
            ] {
                assert!(
                    !keys.contains(&hidden),
                    "public view shows {hidden}: {public}"
                );
            }
            assert!(!public.to_string().contains("Secret draft"));
            assert_eq!(public["id"], id);
            assert_eq!(public["status"], "queued");
            assert_eq!(public["platform"], "facebook");
        }
        let owner = app.job(id, Some(&app.api_key)).await;
        assert_eq!(owner["text"], "Secret draft");
        assert_eq!(
            owner["mediaPaths"],
            json!(["https://cdn.example.com/a.png"])
        );
        assert_eq!(owner["tenantId"], app.tenant_id.as_str());

        assert_error(
            &app.get("/v1/jobs/no-such-job", None).await,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            None,
        );
    }
);

both_stores!(usage_counts_per_platform, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let dev = app.pair_device(&app.api_key).await;
    let x1 = app.create_post("one").await;
    let x2 = app.create_post("two").await;
    let (s, _) = app
        .post_json(
            TWEET,
            Some(&app.api_key),
            &json!({"text": "three", "platform": "linkedin"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    for (id, result) in [
        (
            &x1,
            json!({"status": "succeeded", "postUrl": "https://x.com/u/status/1"}),
        ),
        (
            &x2,
            json!({"status": "failed", "errorCode": "not_logged_in"}),
        ),
    ] {
        assert_eq!(app.pull_job(&dev).await["id"], id.as_str());
        assert_eq!(app.ack(&dev, id, result).await.0, StatusCode::OK);
    }

    let usage = app.usage(&app.api_key).await;
    assert_eq!(usage["tenantId"], app.tenant_id.as_str());
    assert_eq!(usage["quota"], 1000);
    assert_eq!(usage["used"], 3);
    assert_eq!(usage["remaining"], 997);
    assert_eq!(
        (
            usage["created"].clone(),
            usage["succeeded"].clone(),
            usage["failed"].clone(),
            usage["queued"].clone()
        ),
        (json!(3), json!(1), json!(1), json!(1))
    );
    let by = &usage["byPlatform"];
    assert_eq!(by["x"]["created"], 2);
    assert_eq!(by["x"]["succeeded"], 1);
    assert_eq!(by["x"]["failed"], 1);
    assert_eq!(by["linkedin"]["created"], 1);
    assert_eq!(by["linkedin"]["queued"], 1);
    assert_eq!(by["tiktok"]["created"], 0);
    assert!(usage["periodStart"].as_i64().unwrap() <= crate::common::T0);
    assert!(usage["periodEnd"].as_i64().unwrap() > crate::common::T0);

    let own = app
        .get(
            &format!("/v1/usage?tenantId={}", app.tenant_id),
            Some(&app.api_key),
        )
        .await;
    assert_eq!(own.0, StatusCode::OK);
    let (other, other_key) = app.new_tenant(10).await;
    assert_error(
        &app.get(&format!("/v1/usage?tenantId={other}"), Some(&app.api_key))
            .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        None,
    );
    let theirs = app.usage(&other_key).await;
    assert_eq!(
        (theirs["used"].clone(), theirs["quota"].clone()),
        (json!(0), json!(10))
    );
    assert_error(
        &app.get("/v1/usage", None).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        None,
    );
});

/// Posts `body` to `/v1/jobs` and asserts a 400 with `code` on `field`.
async fn refused(app: &TestApp, body: Value, code: &str, field: &str) {
    let got = app.post_json(JOBS, Some(&app.api_key), &body).await;
    assert_error(&got, StatusCode::BAD_REQUEST, code, Some(field));
}

/// Posts `body` to `/v1/jobs` and asserts a 201.
async fn accepted(app: &TestApp, body: Value) {
    let (s, job) = app.post_json(JOBS, Some(&app.api_key), &body).await;
    assert_eq!(s, StatusCode::CREATED, "{job}");
}

both_stores!(validation_errors, |db: Db| async move {
    let app = paired_app(db).await;
    assert_error(
        &app.post_raw(TWEET, Some(&app.api_key), b"{\"text\": ".to_vec())
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_JSON",
        None,
    );
    assert_error(
        &app.post_raw(TWEET, Some(&app.api_key), b"[1, 2]".to_vec())
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_JSON",
        None,
    );
    refused(&app, json!({"text": ""}), "TEXT_REQUIRED", "text").await;
    refused(&app, json!({"text": "   "}), "TEXT_REQUIRED", "text").await;
    refused(&app, json!({}), "TEXT_REQUIRED", "text").await;
    refused(&app, json!({"text": 7}), "INVALID_REQUEST", "text").await;
    refused(
        &app,
        json!({"text": "hi", "platform": "myspace"}),
        "UNKNOWN_PLATFORM",
        "platform",
    )
    .await;
    for platform in ["x", "linkedin", "tiktok", "instagram"] {
        refused(
            &app,
            json!({"text": "hi", "platform": platform, "mediaPaths": ["https://cdn.example.com/v.mp4"],
                   "platformPayload": {"groupId": "1"}}),
            "PLATFORM_PAYLOAD_NOT_SUPPORTED",
            "platformPayload",
        )
        .await;
    }
    refused(
        &app,
        json!({"text": "hi", "mediaPaths": ["ftp://cdn.example.com/a.png"]}),
        "INVALID_REQUEST",
        "mediaPaths[0]",
    )
    .await;
    refused(
        &app,
        json!({"text": "hi", "mediaPaths": "https://cdn.example.com/a.png"}),
        "INVALID_REQUEST",
        "mediaPaths",
    )
    .await;
    refused(
        &app,
        json!({"text": "hi", "idempotencyKey": ""}),
        "INVALID_REQUEST",
        "idempotencyKey",
    )
    .await;
});

both_stores!(per_platform_text_limits, |db: Db| async move {
    let app = paired_app(db).await;
    let x = |text: String| json!({"text": text});
    // X counts weighted: plain Latin 1, CJK 2, emoji 2, any URL 23.
    accepted(&app, x("a".repeat(280))).await;
    refused(&app, x("a".repeat(281)), "TEXT_TOO_LONG", "text").await;
    accepted(&app, x("日".repeat(140))).await;
    refused(&app, x("日".repeat(141)), "TEXT_TOO_LONG", "text").await;
    accepted(&app, x("😀".repeat(140))).await;
    refused(&app, x("😀".repeat(141)), "TEXT_TOO_LONG", "text").await;
    let url = format!("https://example.com/{}", "p".repeat(100));
    accepted(&app, x(format!("{} {url}", "a".repeat(256)))).await;
    refused(
        &app,
        x(format!("{} {url}", "a".repeat(257))),
        "TEXT_TOO_LONG",
        "text",
    )
    .await;

    let on = |platform: &str, len: usize, media: bool| {
        let mut body = json!({"text": "a".repeat(len), "platform": platform});
        if media {
            body["mediaPaths"] = json!(["https://cdn.example.com/photo.jpg"]);
        }
        body
    };
    accepted(&app, on("linkedin", 3000, false)).await;
    refused(&app, on("linkedin", 3001, false), "TEXT_TOO_LONG", "text").await;
    accepted(&app, on("facebook", 63206, false)).await;
    refused(&app, on("facebook", 63207, false), "TEXT_TOO_LONG", "text").await;
    accepted(&app, on("instagram", 2200, true)).await;
    refused(&app, on("instagram", 2201, true), "TEXT_TOO_LONG", "text").await;
    refused(
        &app,
        on("instagram", 10, false),
        "MEDIA_REQUIRED",
        "mediaPaths",
    )
    .await;
    refused(
        &app,
        on("tiktok", 10, false),
        "MEDIA_REQUIRED",
        "mediaPaths",
    )
    .await;
    accepted(&app, on("tiktok", 10, true)).await;

    let images = |n: usize| -> Vec<String> {
        (0..n)
            .map(|i| format!("https://cdn.example.com/{i}.png"))
            .collect()
    };
    accepted(&app, json!({"text": "four", "mediaPaths": images(4)})).await;
    refused(
        &app,
        json!({"text": "five", "mediaPaths": images(5)}),
        "TOO_MANY_MEDIA",
        "mediaPaths",
    )
    .await;
    refused(
        &app,
        json!({"text": "eleven", "platform": "instagram", "mediaPaths": images(11)}),
        "TOO_MANY_MEDIA",
        "mediaPaths",
    )
    .await;
});

both_stores!(
    authentication_quota_pairing_and_size_errors,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let body = json!({"text": "hi"});
        for path in [TWEET, JOBS] {
            assert_error(
                &app.post_json(path, None, &body).await,
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                None,
            );
            for wrong in [
                "claw_0000000000000000000000000000000000000000000000000",
                "nonsense",
                "",
            ] {
                assert_error(
                    &app.post_json(path, Some(wrong), &body).await,
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHORIZED",
                    None,
                );
            }
            // No paired device yet.
            let got = app.post_json(path, Some(&app.api_key), &body).await;
            assert_error(
                &got,
                StatusCode::SERVICE_UNAVAILABLE,
                "EXTENSION_NOT_PAIRED",
                None,
            );
            assert!(got.1["error"]
                .as_str()
                .unwrap()
                .contains("Extension not paired"));
        }
        assert_eq!(
            app.usage(&app.api_key).await["used"],
            0,
            "refused requests use no quota"
        );

        let (tenant, _dev) = app.paired_tenant(2).await;
        for _ in 0..2 {
            let (s, _) = app.post_json(TWEET, Some(&tenant.key), &body).await;
            assert_eq!(s, StatusCode::CREATED);
        }
        assert_error(
            &app.post_json(TWEET, Some(&tenant.key), &body).await,
            StatusCode::FORBIDDEN,
            "QUOTA_EXCEEDED",
            None,
        );
        let usage = app.usage(&tenant.key).await;
        assert_eq!(
            (usage["used"].clone(), usage["remaining"].clone()),
            (json!(2), json!(0))
        );

        let huge = format!("{{\"text\": \"{}\"}}", "a".repeat(1024 * 1024)).into_bytes();
        let too_large = |got| {
            assert_error(
                &got,
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                None,
            )
        };
        for path in [TWEET, JOBS, "/v1/connect/pair", "/v1/connect/register"] {
            too_large(app.post_raw(path, Some(&app.api_key), huge.clone()).await);
        }
        let dev = app.pair_device(&app.api_key).await;
        let ack = app
            .client
            .post(app.url("/v1/extension/ack"))
            .bearer_auth(&dev.token)
            .body(huge)
            .send()
            .await
            .unwrap();
        too_large(crate::common::into_parts(ack).await);
    }
);

both_stores!(quota_holds_under_concurrent_creates, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let (tenant, _dev) = app.paired_tenant(5).await;
    let bodies: Vec<Value> = (0..20)
        .map(|i| json!({"text": format!("post {i}")}))
        .collect();
    let requests = bodies
        .iter()
        .map(|body| app.post_json(TWEET, Some(&tenant.key), body));
    let results = futures::future::join_all(requests).await;
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    for got in results.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_error(got, StatusCode::FORBIDDEN, "QUOTA_EXCEEDED", None);
    }
    assert_eq!(created, 5, "exactly the quota is created");
    assert_eq!(app.usage(&tenant.key).await["used"], 5);
});

both_stores!(idempotent_replay_and_reuse, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let (tenant, _dev) = app.paired_tenant(1).await;
    let body = json!({"text": "Once", "idempotencyKey": "order-42"});
    let (s, first) = app.post_json(TWEET, Some(&tenant.key), &body).await;
    assert_eq!(s, StatusCode::CREATED);
    // The quota (1) is used up, yet a replay still answers with the job.
    let (s, again) = app.post_json(JOBS, Some(&tenant.key), &body).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again, first);
    let reuse = app
        .post_json(
            TWEET,
            Some(&tenant.key),
            &json!({"text": "Twice", "idempotencyKey": "order-42"}),
        )
        .await;
    assert_error(
        &reuse,
        StatusCode::CONFLICT,
        "IDEMPOTENCY_KEY_REUSED",
        Some("idempotencyKey"),
    );
    assert_eq!(app.usage(&tenant.key).await["used"], 1);

    // Keys are per tenant: another tenant's same key is a new job.
    app.pair_device(&app.api_key).await;
    let (s, theirs) = app.post_json(TWEET, Some(&app.api_key), &body).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_ne!(theirs["id"], first["id"]);
});

both_stores!(
    concurrent_idempotent_requests_make_one_job,
    |db: Db| async move {
        let app = paired_app(db).await;
        let body = json!({"text": "Exactly once", "idempotencyKey": "burst"});
        let results = futures::future::join_all(
            (0..50).map(|_| app.post_json(TWEET, Some(&app.api_key), &body)),
        )
        .await;
        let created = results
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .count();
        let replayed = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
        assert_eq!((created, replayed), (1, 49), "{results:?}");
        let id = &results[0].1["id"];
        assert!(results.iter().all(|(_, job)| job["id"] == *id));
        assert_eq!(app.usage(&app.api_key).await["created"], 1);
    }
);

both_stores!(openapi_and_docs_list_every_path, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let paths = [
        "/v1/jobs/tweet",
        "/v1/jobs",
        "/v1/jobs/{id}",
        "/v1/usage",
        "/v1/extension/pull",
        "/v1/extension/progress",
        "/v1/extension/ack",
        "/v1/connect/register",
        "/v1/connect/status",
        "/v1/connect/pair",
    ];
    let resp = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let doc: Value = resp.json().await.expect("valid JSON");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in paths {
        assert!(doc["paths"].get(p).is_some(), "openapi.json lacks {p}");
    }

    let resp = app.client.get(app.url("/api-docs")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = resp.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>"));
    for p in paths {
        assert!(html.contains(p), "api-docs lacks {p}");
    }

    assert_error(
        &app.get("/v1/nowhere", None).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        None,
    );
});
