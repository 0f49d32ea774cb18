//! The extension protocol over HTTP: pull (with long-poll), leases and their
//! expiry, progress, acks, and what one tenant's device may do to another's jobs.

use std::time::{Duration, Instant};

use crate::common::{assert_error, Db, TestApp, TestDevice};
use clawpost_server::clock::Clock;
use clawpost_server::settings::Settings;
use reqwest::StatusCode;
use serde_json::json;

/// How long a lease lasts in these tests (the default).
fn lease_ms() -> i64 {
    clawpost_server::clock::ms(Settings::default().lease)
}

/// Moves the test clock just past a lease's end.
fn expire_lease(app: &TestApp) {
    app.clock.advance_ms(lease_ms() + 1);
}

/// Two paired devices of the first tenant.
async fn two_devices(app: &TestApp) -> (TestDevice, TestDevice) {
    (
        app.pair_device(&app.api_key).await,
        app.pair_device(&app.api_key).await,
    )
}

both_stores!(pull_leases_oldest_first, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let dev = app.pair_device(&app.api_key).await;
    let ids = [
        app.create_post("first").await,
        app.create_post("second").await,
        app.create_post("third").await,
    ];
    for (id, text) in ids.iter().zip(["first", "second", "third"]) {
        let job = app.pull_job(&dev).await;
        assert_eq!(job["id"], id.as_str());
        assert_eq!(job["text"], text);
        assert_eq!(job["type"], "post");
        assert_eq!(job["platform"], "x");
        assert_eq!(job["mediaPaths"], json!([]));
        assert_eq!(job["attempt"], 1);
        assert_eq!(job["leaseExpiresAt"], crate::common::T0 + lease_ms());
    }
    assert_eq!(app.pull(&dev, 0).await.0, StatusCode::NO_CONTENT);
    let owner = app.job(&ids[0], Some(&app.api_key)).await;
    assert_eq!(owner["status"], "processing");
    assert_eq!(owner["attempts"], 1);
});

both_stores!(device_authentication, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let unauthorized = |got| assert_error(&got, StatusCode::UNAUTHORIZED, "UNAUTHORIZED", None);
    unauthorized(
        crate::common::into_parts(
            app.client
                .get(app.url("/v1/extension/pull"))
                .send()
                .await
                .unwrap(),
        )
        .await,
    );
    for token in [
        "nonsense",
        "cpd_0000000000000000000000000000000000000000000000000",
        app.api_key.as_str(),
    ] {
        let fake = TestDevice {
            device_id: String::new(),
            token: token.to_string(),
        };
        unauthorized(app.pull(&fake, 0).await);
        unauthorized(app.progress(&fake, "j", "working").await);
        unauthorized(app.ack(&fake, "j", json!({"status": "failed"})).await);
    }
});

both_stores!(concurrent_pulls_lease_each_job_once, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let (a, b) = two_devices(&app).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(app.create_post(&format!("job {i}")).await);
    }
    let pulls = (0..24).map(|i| app.pull(if i % 2 == 0 { &a } else { &b }, 0));
    let results = futures::future::join_all(pulls).await;
    let mut leased: Vec<String> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .map(|(_, job)| job["id"].as_str().unwrap().to_string())
        .collect();
    assert!(results
        .iter()
        .all(|(s, _)| *s == StatusCode::OK || *s == StatusCode::NO_CONTENT));
    leased.sort();
    ids.sort();
    assert_eq!(leased, ids, "every job leased exactly once");
});

both_stores!(
    lease_expiry_before_submitting_requeues,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let (first, second) = two_devices(&app).await;
        let id = app.create_post("retry me").await;
        assert_eq!(app.pull_job(&first).await["attempt"], 1);
        assert_eq!(app.progress(&first, &id, "working").await.0, StatusCode::OK);
        assert_eq!(
            app.pull(&second, 0).await.0,
            StatusCode::NO_CONTENT,
            "still leased"
        );

        expire_lease(&app);
        let job = app.pull_job(&second).await;
        assert_eq!(job["id"], id.as_str());
        assert_eq!(job["attempt"], 2);

        // The first holder lost the job: it may neither go on nor ack.
        assert_error(
            &app.progress(&first, &id, "submitting").await,
            StatusCode::CONFLICT,
            "LEASE_LOST",
            None,
        );
        assert_error(
            &app.ack(
                &first,
                &id,
                json!({"status": "succeeded", "postUrl": "https://x.com/u/status/1"}),
            )
            .await,
            StatusCode::CONFLICT,
            "ACK_CONFLICT",
            None,
        );
        let (s, done) = app
            .ack(
                &second,
                &id,
                json!({"status": "succeeded", "postUrl": "https://x.com/u/status/2"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{done}");
        assert_eq!(done["attempts"], 2);
        assert_eq!(
            app.job(&id, None).await["postUrl"],
            "https://x.com/u/status/2"
        );
    }
);

both_stores!(progress_after_expiry_is_lease_lost, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let dev = app.pair_device(&app.api_key).await;
    let id = app.create_post("slow").await;
    app.pull_job(&dev).await;
    expire_lease(&app);
    // No sweep has run yet: the late report alone must not revive the lease.
    assert_error(
        &app.progress(&dev, &id, "submitting").await,
        StatusCode::CONFLICT,
        "LEASE_LOST",
        None,
    );
    let job = app.job(&id, Some(&app.api_key)).await;
    assert_eq!(job["status"], "queued", "requeued, not failed: {job}");
    assert_eq!(app.pull_job(&dev).await["attempt"], 2);
});

both_stores!(progress_renews_the_lease, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let (holder, other) = two_devices(&app).await;
    let id = app.create_post("long task").await;
    app.pull_job(&holder).await;
    for _ in 0..3 {
        // Each report comes before the lease ends, and together they outlast it.
        app.clock.advance_ms(lease_ms() - 1000);
        let (s, p) = app.progress(&holder, &id, "working").await;
        assert_eq!(s, StatusCode::OK, "{p}");
        assert_eq!(p["jobId"], id.as_str());
        assert_eq!(p["leaseExpiresAt"], app.clock.now_ms() + lease_ms());
        assert_eq!(p["submittingAt"], json!(null));
        assert_eq!(app.pull(&other, 0).await.0, StatusCode::NO_CONTENT);
    }
    let (s, p) = app.progress(&holder, &id, "submitting").await;
    assert_eq!(s, StatusCode::OK);
    let submitting_at = app.clock.now_ms();
    assert_eq!(p["submittingAt"], submitting_at);
    app.clock.advance_ms(1000);
    let (_, p) = app.progress(&holder, &id, "working").await;
    assert_eq!(
        p["submittingAt"], submitting_at,
        "submitting is never undone"
    );
    // Another device of the tenant does not hold the lease.
    assert_error(
        &app.progress(&other, &id, "working").await,
        StatusCode::CONFLICT,
        "LEASE_LOST",
        None,
    );
    assert_error(
        &app.device_post(
            &holder,
            "/v1/extension/progress",
            &json!({"jobId": id, "stage": "done"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        None,
    );
});

both_stores!(
    lease_expiry_after_submitting_is_outcome_unknown,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let (holder, other) = two_devices(&app).await;
        let id = app.create_post("did it post?").await;
        app.pull_job(&holder).await;
        assert_eq!(
            app.progress(&holder, &id, "submitting").await.0,
            StatusCode::OK
        );
        expire_lease(&app);

        // Reading the job settles the lapsed lease.
        let job = app.job(&id, None).await;
        assert_eq!(job["status"], "failed", "{job}");
        assert_eq!(job["errorCode"], "outcome_unknown");
        assert!(job["error"].as_str().is_some_and(|e| !e.is_empty()));
        for dev in [&holder, &other] {
            assert_eq!(
                app.pull(dev, 0).await.0,
                StatusCode::NO_CONTENT,
                "never leased again"
            );
        }
        assert_error(
            &app.progress(&holder, &id, "working").await,
            StatusCode::CONFLICT,
            "LEASE_LOST",
            None,
        );

        // Only the device that held it may correct it, once.
        let posted = json!({"status": "succeeded", "postUrl": "https://x.com/u/status/9"});
        assert_error(
            &app.ack(&other, &id, posted.clone()).await,
            StatusCode::CONFLICT,
            "ACK_CONFLICT",
            None,
        );
        let (s, done) = app.ack(&holder, &id, posted.clone()).await;
        assert_eq!(s, StatusCode::OK, "{done}");
        let job = app.job(&id, None).await;
        assert_eq!(job["status"], "succeeded");
        assert_eq!(job["postUrl"], "https://x.com/u/status/9");
        assert_eq!(job["errorCode"], json!(null));
        assert_eq!(
            app.ack(&holder, &id, posted).await.0,
            StatusCode::OK,
            "identical repeat"
        );
        assert_error(
            &app.ack(
                &holder,
                &id,
                json!({"status": "failed", "errorCode": "network_error"}),
            )
            .await,
            StatusCode::CONFLICT,
            "ACK_CONFLICT",
            None,
        );
    }
);

both_stores!(outcome_unknown_also_settles_on_pull, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let dev = app.pair_device(&app.api_key).await;
    let id = app.create_post("x").await;
    let later = app.create_post("y").await;
    app.pull_job(&dev).await;
    app.progress(&dev, &id, "submitting").await;
    expire_lease(&app);
    // The pull sweeps first: the submitted job fails, the next one is leased.
    assert_eq!(app.pull_job(&dev).await["id"], later.as_str());
    let job = app.job(&id, None).await;
    assert_eq!(
        (job["status"].clone(), job["errorCode"].clone()),
        (json!("failed"), json!("outcome_unknown"))
    );
    assert_eq!(app.usage(&app.api_key).await["failed"], 1);
});

both_stores!(
    acks_are_bounded_and_name_the_platforms_own_site,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let dev = app.pair_device(&app.api_key).await;
        let id = app.create_post("bounded").await;
        app.pull_job(&dev).await;
        for bad in [
            "http://x.com/u/status/1",
            "https://evil.example/x.com/u/status/1",
            "https://x.com.evil.example/u/status/1",
            "https://www.linkedin.com/feed/update/urn:li:activity:1/",
        ] {
            assert_error(
                &app.ack(&dev, &id, json!({"status": "succeeded", "postUrl": bad}))
                    .await,
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                Some("postUrl"),
            );
        }
        assert_error(
        &app.ack(
            &dev,
            &id,
            json!({"status": "failed", "errorCode": "unknown_error", "error": "e".repeat(1025)}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        Some("error"),
    );
        assert_error(
            &app.ack(
                &dev,
                &id,
                json!({"status": "failed", "details": {"seen": "d".repeat(8 * 1024)}}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            Some("details"),
        );
        // Nothing above changed the job; a subdomain of the platform's host is its own site.
        assert_eq!(app.job(&id, None).await["status"], "processing");
        let done = app
            .ack(
                &dev,
                &id,
                json!({"status": "succeeded", "postUrl": "https://mobile.x.com/u/status/1"}),
            )
            .await;
        assert_eq!(done.0, StatusCode::OK, "{}", done.1);
    }
);

both_stores!(acks, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let (holder, other) = two_devices(&app).await;
    let id = app.create_post("ack me").await;
    app.pull_job(&holder).await;

    assert_error(
        &app.ack(
            &other,
            &id,
            json!({"status": "succeeded", "postUrl": "https://x.com/u/status/1"}),
        )
        .await,
        StatusCode::CONFLICT,
        "ACK_CONFLICT",
        None,
    );
    assert_error(
        &app.ack(&holder, &id, json!({"status": "succeeded"})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        Some("postUrl"),
    );
    assert_error(
        &app.ack(
            &holder,
            &id,
            json!({"status": "succeeded", "postUrl": "javascript:alert(1)"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        Some("postUrl"),
    );
    assert_error(
        &app.ack(&holder, &id, json!({"status": "maybe"})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        None,
    );
    assert_error(
        &app.ack(&holder, "no-such-job", json!({"status": "failed"}))
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        None,
    );

    let failed =
        json!({"status": "failed", "error": "Log in to x.com first", "errorCode": "not_logged_in"});
    let (s, done) = app.ack(&holder, &id, failed.clone()).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    let job = app.job(&id, None).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"], "Log in to x.com first");
    assert_eq!(job["errorCode"], "not_logged_in");
    assert_eq!(job["updatedAt"], crate::common::T0);
    assert_eq!(
        app.ack(&holder, &id, failed).await.0,
        StatusCode::OK,
        "identical repeat"
    );
    assert_error(
        &app.ack(
            &holder,
            &id,
            json!({"status": "succeeded", "postUrl": "https://x.com/u/status/1"}),
        )
        .await,
        StatusCode::CONFLICT,
        "ACK_CONFLICT",
        None,
    );

    // A failure without a code is unknown_error, with its standard message.
    let id = app.create_post("again").await;
    app.pull_job(&holder).await;
    assert_eq!(
        app.ack(&holder, &id, json!({"status": "failed"})).await.0,
        StatusCode::OK
    );
    let job = app.job(&id, None).await;
    assert_eq!(job["errorCode"], "unknown_error");
    assert!(job["error"].as_str().is_some_and(|e| !e.is_empty()));
});

both_stores!(group_job_acks_need_a_button_state, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let dev = app.pair_device(&app.api_key).await;
    let (s, job) = app
        .post_json(
            "/v1/jobs",
            Some(&app.api_key),
            &json!({"type": "facebook_group_join", "platform": "facebook",
                    "platformPayload": {"groupId": "1577315533418837"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = job["id"].as_str().unwrap();
    let leased = app.pull_job(&dev).await;
    assert_eq!(leased["type"], "facebook_group_join");
    assert_eq!(
        leased["platformPayload"],
        json!({"groupId": "1577315533418837"})
    );
    assert_eq!(leased["text"], "");

    for details in [json!(null), json!({}), json!({"buttonState": "pending"})] {
        assert_error(
            &app.ack(&dev, id, json!({"status": "succeeded", "details": details}))
                .await,
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            Some("details.buttonState"),
        );
    }
    let (s, _) = app
        .ack(
            &dev,
            id,
            json!({"status": "succeeded", "details": {"buttonState": "requested"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let job = app.job(id, None).await;
    assert_eq!(job["status"], "succeeded");
    assert_eq!(job["details"]["buttonState"], "requested");
    assert_eq!(job["postUrl"], json!(null));
});

both_stores!(long_poll_wakes_when_a_job_is_created, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let dev = app.pair_device(&app.api_key).await;
    let started = Instant::now();
    let mut pull = tokio::spawn(
        app.client
            .get(app.url("/v1/extension/pull?wait=10"))
            .bearer_auth(&dev.token)
            .send(),
    );
    // The server has seen the pull once the device's last-seen time is set.
    while app
        .state
        .store
        .device(&dev.device_id)
        .await
        .unwrap()
        .unwrap()
        .last_seen_at
        .is_none()
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(200), &mut pull)
            .await
            .is_err(),
        "the pull answered before any job existed"
    );
    let id = app.create_post("wake up").await;
    let (s, job) = crate::common::into_parts(pull.await.unwrap().unwrap()).await;
    let elapsed = started.elapsed();
    assert_eq!(s, StatusCode::OK, "{job}");
    assert_eq!(job["id"], id.as_str());
    assert!(
        elapsed < Duration::from_secs(5),
        "woke only after {elapsed:?}"
    );
});

both_stores!(long_poll_limits, |db: Db| async move {
    let app = TestApp::spawn(db).await;
    let dev = app.pair_device(&app.api_key).await;
    let started = Instant::now();
    let (s, body) = app.pull(&dev, 1).await;
    let elapsed = started.elapsed();
    assert_eq!((s, body), (StatusCode::NO_CONTENT, json!(null)));
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "waited {elapsed:?}"
    );
    assert_error(
        &app.pull(&dev, 26).await,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        Some("wait"),
    );
    let (s, body) = crate::common::into_parts(
        app.client
            .get(app.url("/v1/extension/pull?wait=soon"))
            .bearer_auth(&dev.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(
        &(s, body),
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        Some("wait"),
    );
});

both_stores!(
    devices_cannot_touch_another_tenants_jobs,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let a_dev = app.pair_device(&app.api_key).await;
        let (b, b_dev) = app.paired_tenant(10).await;
        let id = app.create_post("A's secret").await;

        assert_eq!(app.pull(&b_dev, 0).await.0, StatusCode::NO_CONTENT);
        for got in [
            app.progress(&b_dev, &id, "working").await,
            app.ack(
                &b_dev,
                &id,
                json!({"status": "failed", "errorCode": "network_error"}),
            )
            .await,
        ] {
            assert_error(&got, StatusCode::NOT_FOUND, "NOT_FOUND", None);
        }
        app.pull_job(&a_dev).await;
        for got in [
            app.progress(&b_dev, &id, "submitting").await,
            app.ack(
                &b_dev,
                &id,
                json!({"status": "succeeded", "postUrl": "https://x.com/u/status/1"}),
            )
            .await,
        ] {
            assert_error(&got, StatusCode::NOT_FOUND, "NOT_FOUND", None);
        }
        let public = app.job(&id, Some(&b.key)).await;
        assert!(public.get("text").is_none(), "{public}");
        assert_eq!(public["status"], "processing");

        // B's long-poll is not woken by A's jobs.
        let ((s, _), _) = tokio::join!(app.pull(&b_dev, 1), app.create_post("A again"));
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
);

both_stores!(
    selector_packs_are_served_with_an_etag,
    |db: Db| async move {
        // An operator's pack (a newer X pack) replaces the built-in one.
        let dir = tempfile::tempdir().unwrap();
        let mut pack: serde_json::Value =
            serde_json::from_str(extension_core::pack::X_PACK_JSON).unwrap();
        pack["version"] = json!("x-2099.1.0");
        std::fs::write(dir.path().join("x.json"), pack.to_string()).unwrap();
        let packs = clawpost_server::selectors::load(Some(dir.path())).unwrap();
        let settings = Settings {
            selector_packs: packs.clone(),
            ..Settings::default()
        };
        let app = TestApp::spawn_with(db, settings).await;
        let dev = app.pair_device(&app.api_key).await;
        let url = app.url("/v1/extension/selectors");

        // Device token only.
        let resp = app.client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let resp = app
            .client
            .get(&url)
            .bearer_auth(&app.api_key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

        let resp = app
            .client
            .get(&url)
            .bearer_auth(&dev.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let etag = resp.headers()["etag"].to_str().unwrap().to_string();
        let body = resp.text().await.unwrap();
        // What the extension does with it: parse and check the whole set.
        let set = extension_core::pack_set::PackSet::parse(&body).unwrap();
        assert_eq!(etag, format!("\"{}\"", set.hash));
        assert_eq!(set.hash.len(), 64);
        let x = set
            .packs
            .iter()
            .find(|p| p.platform == extension_core::Platform::X)
            .unwrap();
        assert_eq!(x.version, "x-2099.1.0");
        assert!(set.version.contains("x-2099.1.0"));

        // Unchanged: 304 with no body.
        let resp = app
            .client
            .get(&url)
            .bearer_auth(&dev.token)
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
        assert!(resp.bytes().await.unwrap().is_empty());
        // A stale tag gets the set.
        let resp = app
            .client
            .get(&url)
            .bearer_auth(&dev.token)
            .header("If-None-Match", "\"stale\"")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
);

#[test]
fn malformed_selector_packs_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let good: serde_json::Value = serde_json::from_str(extension_core::pack::X_PACK_JSON).unwrap();
    // Not a pack at all.
    std::fs::write(dir.path().join("x.json"), "{\"platform\": \"x\"}").unwrap();
    let e = clawpost_server::selectors::load(Some(dir.path())).unwrap_err();
    assert!(format!("{e:#}").contains("x.json is malformed"), "{e:#}");
    // Code smuggled in as an unknown field.
    let mut smuggled = good.clone();
    smuggled["script"] = json!("fetch('https://evil.example')");
    std::fs::write(dir.path().join("x.json"), smuggled.to_string()).unwrap();
    assert!(clawpost_server::selectors::load(Some(dir.path())).is_err());
    // Two packs for one platform.
    std::fs::write(dir.path().join("x.json"), good.to_string()).unwrap();
    std::fs::write(dir.path().join("x2.json"), good.to_string()).unwrap();
    let e = clawpost_server::selectors::load(Some(dir.path())).unwrap_err();
    assert!(format!("{e:#}").contains("two selector packs"), "{e:#}");
    // No folder: the built-in set.
    let builtin = clawpost_server::selectors::load(None).unwrap();
    assert_eq!(*builtin, clawpost_server::selectors::builtin());
}

both_stores!(
    failure_diagnostics_reach_only_the_tenant,
    |db: Db| async move {
        let app = TestApp::spawn(db).await;
        let dev = app.pair_device(&app.api_key).await;
        let id = app.create_post("diagnose me").await;
        app.pull_job(&dev).await;
        let diagnostic = json!({
            "step": "composer", "action": "waitFor",
            "selectorsTried": {"editor": [{"css": "[data-testid=\"tweetTextarea_0\"]"}]},
            "url": "https://x.com/home",
            "outline": ["main[role=main]", "div[data-testid=primaryColumn]"]
        });
        // Bad shapes change nothing.
        for bad in [json!("a string"), json!({"big": "x".repeat(40 * 1024)})] {
            assert_error(
            &app.ack(
                &dev,
                &id,
                json!({"status": "failed", "errorCode": "selector_not_found", "diagnostic": bad}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            Some("diagnostic"),
        );
        }
        assert_eq!(app.job(&id, None).await["status"], "processing");
        let (s, body) = app
            .ack(
                &dev,
                &id,
                json!({"status": "failed", "errorCode": "selector_not_found",
                   "error": "X: the post composer did not appear.", "diagnostic": diagnostic}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        // The tenant sees it with its key; the public status view never does.
        let owner = app.job(&id, Some(&app.api_key)).await;
        assert_eq!(owner["diagnostic"], diagnostic);
        let public = app.job(&id, None).await;
        assert_eq!(public["errorCode"], "selector_not_found");
        assert!(public.get("diagnostic").is_none(), "{public}");
        // Another tenant's key gets the public view only.
        let (_, other) = app.new_tenant(10).await;
        let seen = app.job(&id, Some(&other)).await;
        assert!(seen.get("diagnostic").is_none(), "{seen}");
    }
);

both_stores!(posts_are_paced_per_platform, |db: Db| async move {
    let mut post_intervals = extension_core::PlatformMap::default();
    post_intervals[extension_core::Platform::X] = std::time::Duration::from_secs(60);
    let settings = Settings {
        post_intervals,
        ..Settings::default()
    };
    let app = TestApp::spawn_with(db, settings).await;
    let dev = app.pair_device(&app.api_key).await;
    let first = app.create_post("first").await;
    let second = app.create_post("second").await;
    let (s, linkedin) = app
        .post_json(
            "/v1/jobs",
            Some(&app.api_key),
            &json!({"platform": "linkedin", "text": "on LinkedIn"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{linkedin}");

    // Until the first X post reaches `submitting`, nothing holds the second back.
    assert_eq!(app.pull_job(&dev).await["id"], first.as_str());
    let (s, body) = app
        .device_post(
            &dev,
            "/v1/extension/progress",
            &json!({"jobId": first, "stage": "submitting"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = app
        .ack(
            &dev,
            &first,
            json!({"status": "succeeded", "postUrl": "https://x.com/u/status/1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // X is paced: the LinkedIn job (created later) goes first, then nothing.
    assert_eq!(app.pull_job(&dev).await["id"], linkedin["id"]);
    assert_eq!(app.pull(&dev, 0).await.0, StatusCode::NO_CONTENT);
    app.clock.advance_ms(59_000);
    assert_eq!(app.pull(&dev, 0).await.0, StatusCode::NO_CONTENT);
    // After the interval and its jitter (at most 20 %), the second X post.
    app.clock.advance_ms(13_001);
    assert_eq!(app.pull_job(&dev).await["id"], second.as_str());
    let (s, _) = app
        .device_post(
            &dev,
            "/v1/extension/progress",
            &json!({"jobId": second, "stage": "submitting"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // A tenant's own setting replaces the server's: here, no pacing.
    let third = app.create_post("third").await;
    assert_eq!(app.pull(&dev, 0).await.0, StatusCode::NO_CONTENT);
    assert!(app
        .state
        .store
        .set_tenant_pacing(&app.tenant_id, extension_core::Platform::X, Some(0))
        .await
        .unwrap());
    assert_eq!(app.pull_job(&dev).await["id"], third.as_str());
    // Unknown tenants are reported.
    assert!(!app
        .state
        .store
        .set_tenant_pacing("no-such-tenant", extension_core::Platform::X, None)
        .await
        .unwrap());
});
