//! Each data module's transitions through the crate's public interface, on
//! a fresh SQLite file and on a fresh schema of the PostgreSQL database at
//! `$CLAWPOST_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clawpost_store::prelude::*;
use clawpost_store::{
    AckOutcome, Admission, Completion, CreateOutcome, Device, Identity, IdentitySignIn, JobFilter,
    JobRecord, MediaRecord, MediaStatus, NewJob, PairOutcome, ProgressOutcome, RateRule,
    SessionRecord, SignInMethod, SqlStore, Tenant,
};
use clawpost_store::{Invite, OAuthClient, OAuthCode, OAuthGrant, Revocation, Revoked};
use extension_core::{JobStatus, JobType, Platform, PlatformMap, ProgressStage};

const T0: i64 = 1_794_744_000_000;
const LEASE: Duration = Duration::from_secs(120);

struct Db {
    store: SqlStore,
    _dir: tempfile::TempDir,
}

#[derive(Clone, Copy)]
enum Engine {
    Sqlite,
    Postgres,
}

async fn fresh(engine: Engine) -> Db {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = match engine {
        Engine::Sqlite => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("t.sqlite").display()
        ),
        Engine::Postgres => fresh_postgres_schema().await,
    };
    let store = SqlStore::connect(&url).await.expect("connect and migrate");
    Db { store, _dir: dir }
}

/// A new, empty schema; the URL selects it.
async fn fresh_postgres_schema() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let admin = std::env::var("CLAWPOST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let schema = format!(
        "store_{}_{}_{}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin} is unreachable ({e}); set CLAWPOST_TEST_POSTGRES_URL")
        });
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create schema");
    let sep = if admin.contains('?') { '&' } else { '?' };
    format!("{admin}{sep}options=-c%20search_path%3D{schema}")
}

/// `both_engines!(name)` runs `async fn name(s: &SqlStore)` as `name::sqlite`
/// and `name::postgres`.
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let db = super::fresh(super::Engine::Sqlite).await;
                super::$name(&db.store).await;
            }

            #[tokio::test]
            async fn postgres() {
                let db = super::fresh(super::Engine::Postgres).await;
                super::$name(&db.store).await;
            }
        }
    )*};
}

both_engines!(
    tenants_and_keys,
    devices_pair_with_a_live_code_and_revoke,
    rate_limits_count_within_their_window,
    clients_that_never_connected_are_purged,
    a_lease_lasts_its_duration_and_progress_renews_it,
    a_lease_that_runs_out_is_requeued_or_fails,
    posts_on_a_platform_wait_for_its_interval,
    a_tenant_interval_overrides_the_servers,
    idempotency_and_quota,
    sessions_expire_and_nonces_spend_once,
    an_identity_creates_its_tenant_once,
    a_rotation_revokes_grants_sessions_and_devices,
    an_invitation_admits_one_first_sign_in,
    media_moves_from_pending_to_ready_to_deleted,
    every_part_through_dyn_store,
);

fn tenant(id: &str) -> Tenant {
    Tenant {
        id: id.into(),
        name: format!("Tenant {id}"),
        quota: 100,
        created_at: T0,
    }
}

fn post(id: &str, tenant_id: &str, platform: Platform, at: i64) -> NewJob {
    NewJob {
        id: id.into(),
        tenant_id: tenant_id.into(),
        job_type: JobType::Post,
        platform,
        text: format!("post {id}"),
        media_paths: vec![],
        platform_payload: None,
        idempotency_key: None,
        request_hash: format!("hash-{id}"),
        created_at: at,
    }
}

async fn create(store: &SqlStore, job: &NewJob) -> JobRecord {
    match store.create_job(job, 100, 0).await.unwrap() {
        CreateOutcome::Created(j) => j,
        other => panic!("not created: {other:?}"),
    }
}

fn no_pacing() -> PlatformMap<Duration> {
    PlatformMap::default()
}

async fn tenants_and_keys(s: &SqlStore) {
    s.create_tenant(&tenant("t1"), "key-1").await.unwrap();
    assert_eq!(s.tenant_count().await.unwrap(), 1);
    assert_eq!(s.tenant("t1").await.unwrap(), Some(tenant("t1")));
    assert_eq!(
        s.tenant_by_key_hash("key-1").await.unwrap().map(|t| t.id),
        Some("t1".into())
    );
    let keep = Revocation::default();
    assert!(s
        .rotate_key("t1", "key-2", keep, T0)
        .await
        .unwrap()
        .is_some());
    assert!(s
        .rotate_key("nobody", "key-3", keep, T0)
        .await
        .unwrap()
        .is_none());
    assert_eq!(s.tenant_by_key_hash("key-1").await.unwrap(), None);
    assert!(s.tenant_by_key_hash("key-2").await.unwrap().is_some());
}

async fn devices_pair_with_a_live_code_and_revoke(s: &SqlStore) {
    s.create_tenant(&tenant("t1"), "k").await.unwrap();
    let device = Device {
        id: "d1".into(),
        tenant_id: None,
        name: "Chrome".into(),
        pairing_code: Some("ABCD".into()),
        code_expires_at: T0 + 60_000,
        poll_token_hash: "poll".into(),
        token_issued: false,
        paired_at: None,
        last_seen_at: None,
        revoked_at: None,
        pack_version: None,
        created_at: T0,
    };
    assert!(s.register_device(&device).await.unwrap());
    // The live code is taken.
    let twin = Device {
        id: "d2".into(),
        ..device.clone()
    };
    assert!(!s.register_device(&twin).await.unwrap());
    assert!(matches!(
        s.pair_device("WXYZ", "t1", T0 + 1).await.unwrap(),
        PairOutcome::NoSuchCode
    ));
    let PairOutcome::Paired(paired) = s.pair_device("ABCD", "t1", T0 + 1).await.unwrap() else {
        panic!("not paired");
    };
    assert_eq!(paired.tenant_id.as_deref(), Some("t1"));
    assert_eq!(paired.pairing_code, None);
    assert!(s.issue_device_token("d1", "tok").await.unwrap());
    assert!(!s.issue_device_token("d1", "tok2").await.unwrap());
    assert_eq!(s.paired_device_count("t1").await.unwrap(), 1);
    assert_eq!(s.tenant_devices("t1").await.unwrap().len(), 1);
    assert!(s.device_by_token_hash("tok").await.unwrap().is_some());
    assert!(s.revoke_device("t1", "d1", T0 + 2).await.unwrap());
    assert!(!s.revoke_device("t1", "d1", T0 + 3).await.unwrap());
    assert_eq!(s.device_by_token_hash("tok").await.unwrap(), None);
    assert_eq!(s.paired_device_count("t1").await.unwrap(), 0);

    // A registration never paired goes once its code expired; paired ones stay.
    let idle = Device {
        id: "d3".into(),
        pairing_code: Some("EFGH".into()),
        ..device.clone()
    };
    assert!(s.register_device(&idle).await.unwrap());
    assert_eq!(s.sweep_unpaired_devices(T0 + 60_000).await.unwrap(), 0);
    assert_eq!(s.sweep_unpaired_devices(T0 + 60_001).await.unwrap(), 1);
    assert!(s.device("d3").await.unwrap().is_none());
    assert!(s.device("d1").await.unwrap().is_some());
}

async fn rate_limits_count_within_their_window(s: &SqlStore) {
    let rule = |scope: &str, limit: i64| RateRule {
        scope: scope.into(),
        limit,
        window_ms: 60_000,
    };
    let both = [rule("net", 2), rule("all", 3)];
    assert_eq!(s.admit("a1", &both, T0).await.unwrap(), Admission::Admitted);
    assert_eq!(
        s.admit("a2", &both, T0 + 10).await.unwrap(),
        Admission::Admitted
    );
    // "net" is full: nothing is counted, not even under "all".
    assert_eq!(
        s.admit("a3", &both, T0 + 20).await.unwrap(),
        Admission::Refused {
            retry_at: T0 + 60_000
        }
    );
    assert_eq!(
        s.full_until(&both, T0 + 20).await.unwrap(),
        Some(T0 + 60_000)
    );
    assert_eq!(
        s.full_until(&[rule("all", 3)], T0 + 20).await.unwrap(),
        None
    );
    // Giving an attempt back frees its places.
    s.give_back("a2").await.unwrap();
    assert_eq!(s.full_until(&both, T0 + 20).await.unwrap(), None);
    // Events recorded whatever the limit; the window slides past them.
    s.record_event("f1", &["net".into()], T0 + 30)
        .await
        .unwrap();
    s.record_event("f2", &["net".into()], T0 + 40)
        .await
        .unwrap();
    assert_eq!(
        s.full_until(&[rule("net", 2)], T0 + 50).await.unwrap(),
        Some(T0 + 30 + 60_000)
    );
    assert_eq!(
        s.full_until(&[rule("net", 2)], T0 + 60_030).await.unwrap(),
        None
    );
    assert_eq!(s.purge_rate_events(T0 + 35).await.unwrap(), 3);
}

async fn clients_that_never_connected_are_purged(s: &SqlStore) {
    s.create_tenant(&tenant("t1"), "k").await.unwrap();
    for (id, created_at) in [
        ("used", T0),
        ("idle", T0),
        ("approved", T0),
        ("new", T0 + 10),
    ] {
        s.insert_client(&OAuthClient {
            id: id.into(),
            secret_hash: None,
            name: "Agent".into(),
            redirect_uris: vec!["http://127.0.0.1/cb".into()],
            grant_types: vec!["authorization_code".into()],
            auth_method: "none".into(),
            created_at,
        })
        .await
        .unwrap();
    }
    // "used" connected; "approved" was approved but its code never exchanged.
    for (grant, client, connected_at) in [("g1", "used", Some(T0)), ("g2", "approved", None)] {
        let g = OAuthGrant {
            id: grant.into(),
            client_id: client.into(),
            tenant_id: "t1".into(),
            scope: "posts:read".into(),
            resource: "http://127.0.0.1/mcp".into(),
            created_at: T0,
            connected_at,
            last_used_at: None,
            revoked_at: None,
        };
        let code = OAuthCode {
            code_hash: format!("code-{grant}"),
            grant_id: grant.into(),
            redirect_uri: "http://127.0.0.1/cb".into(),
            code_challenge: "c".into(),
            expires_at: T0 + 1_000,
            used_at: None,
        };
        s.insert_grant_with_code(&g, &code).await.unwrap();
    }
    assert_eq!(s.purge_unused_clients(T0 + 5).await.unwrap(), 2);
    assert!(s.client("used").await.unwrap().is_some());
    assert!(s.client("new").await.unwrap().is_some());
    assert!(s.client("idle").await.unwrap().is_none());
    assert!(s.client("approved").await.unwrap().is_none());
    assert!(s.grant("g2").await.unwrap().is_none());
    assert!(s.grant("g1").await.unwrap().is_some());
}

async fn a_lease_lasts_its_duration_and_progress_renews_it(s: &SqlStore) {
    s.create_tenant(&tenant("t1"), "k").await.unwrap();
    create(s, &post("j1", "t1", Platform::X, T0)).await;
    let job = s
        .lease_next("t1", "d1", T0, LEASE, &no_pacing())
        .await
        .unwrap()
        .expect("leased");
    assert_eq!(job.status, JobStatus::Processing);
    assert_eq!(job.lease_expires_at, Some(T0 + 120_000));
    assert_eq!(job.attempts, 1);
    assert!(s
        .lease_next("t1", "d1", T0, LEASE, &no_pacing())
        .await
        .unwrap()
        .is_none());

    let renewed = s
        .report_progress(
            "j1",
            "d1",
            ProgressStage::Submitting,
            T0 + 1_000,
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    let ProgressOutcome::Accepted(job) = renewed else {
        panic!("not accepted: {renewed:?}");
    };
    assert_eq!(job.lease_expires_at, Some(T0 + 31_000));
    assert_eq!(job.submitting_at, Some(T0 + 1_000));
    assert!(matches!(
        s.report_progress("j1", "d2", ProgressStage::Working, T0 + 2_000, LEASE)
            .await
            .unwrap(),
        ProgressOutcome::NotHolder(_)
    ));

    let done = Completion {
        status: JobStatus::Succeeded,
        post_url: Some("https://x.com/p/1".into()),
        error: None,
        error_code: None,
        details: None,
        diagnostic: None,
        pack_version: None,
        ack_hash: "ack".into(),
    };
    assert!(matches!(
        s.complete_job("j1", "d1", &done, T0 + 3_000).await.unwrap(),
        AckOutcome::Completed(_)
    ));
    assert!(matches!(
        s.complete_job("j1", "d1", &done, T0 + 4_000).await.unwrap(),
        AckOutcome::Duplicate(_)
    ));
    let usage = s.usage("t1", 0).await.unwrap();
    assert_eq!(usage.total.succeeded, 1);
    assert_eq!(usage.by_platform.len(), Platform::ALL.len());
    assert_eq!(
        usage
            .by_platform
            .iter()
            .find(|(p, _)| *p == Platform::X)
            .map(|(_, c)| c.created),
        Some(1)
    );
}

async fn a_lease_that_runs_out_is_requeued_or_fails(s: &SqlStore) {
    s.create_tenant(&tenant("t1"), "k").await.unwrap();
    create(s, &post("j1", "t1", Platform::X, T0)).await;
    create(s, &post("j2", "t1", Platform::Linkedin, T0)).await;
    let lease = Duration::from_secs(10);
    s.lease_next("t1", "d1", T0, lease, &no_pacing())
        .await
        .unwrap()
        .unwrap();
    s.lease_next("t1", "d1", T0, lease, &no_pacing())
        .await
        .unwrap()
        .unwrap();
    s.report_progress("j2", "d1", ProgressStage::Submitting, T0, lease)
        .await
        .unwrap();
    let expired = s.expire_leases(T0 + 10_001).await.unwrap();
    assert_eq!(expired.requeued_tenants, vec!["t1".to_string()]);
    assert_eq!(expired.failed_unknown, 1);
    assert_eq!(
        s.job("j1").await.unwrap().unwrap().status,
        JobStatus::Queued
    );
    assert_eq!(
        s.job("j2").await.unwrap().unwrap().status,
        JobStatus::Failed
    );
}

async fn posts_on_a_platform_wait_for_its_interval(s: &SqlStore) {
    s.create_tenant(&tenant("t1"), "k").await.unwrap();
    let mut intervals = PlatformMap::from_fn(|_| Duration::ZERO);
    intervals[Platform::X] = Duration::from_secs(60);
    // Created at a whole second: no jitter.
    create(s, &post("j1", "t1", Platform::X, T0)).await;
    create(s, &post("j2", "t1", Platform::X, T0)).await;
    create(s, &post("j3", "t1", Platform::Linkedin, T0)).await;
    let first = s
        .lease_next("t1", "d1", T0, LEASE, &intervals)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.id, "j1");
    s.report_progress("j1", "d1", ProgressStage::Submitting, T0, LEASE)
        .await
        .unwrap();
    // X is paced; LinkedIn is not.
    let next = s
        .lease_next("t1", "d1", T0 + 1_000, LEASE, &intervals)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.id, "j3");
    assert!(s
        .lease_next("t1", "d1", T0 + 59_000, LEASE, &intervals)
        .await
        .unwrap()
        .is_none());
    let later = s
        .lease_next("t1", "d1", T0 + 60_000, LEASE, &intervals)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(later.id, "j2");
}

async fn a_tenant_interval_overrides_the_servers(s: &SqlStore) {
    s.create_tenant(&tenant("t1"), "k").await.unwrap();
    assert!(!s
        .set_tenant_pacing("nobody", Platform::X, Some(1))
        .await
        .unwrap());
    assert!(s
        .set_tenant_pacing("t1", Platform::X, Some(5_000))
        .await
        .unwrap());
    let intervals = PlatformMap::from_fn(|_| Duration::from_secs(3_600));
    create(s, &post("j1", "t1", Platform::X, T0)).await;
    create(s, &post("j2", "t1", Platform::X, T0)).await;
    s.lease_next("t1", "d1", T0, LEASE, &intervals)
        .await
        .unwrap()
        .unwrap();
    s.report_progress("j1", "d1", ProgressStage::Submitting, T0, LEASE)
        .await
        .unwrap();
    assert!(s
        .lease_next("t1", "d1", T0 + 4_000, LEASE, &intervals)
        .await
        .unwrap()
        .is_none());
    assert!(s
        .lease_next("t1", "d1", T0 + 5_000, LEASE, &intervals)
        .await
        .unwrap()
        .is_some());
}

async fn idempotency_and_quota(s: &SqlStore) {
    s.create_tenant(&tenant("t1"), "k").await.unwrap();
    let mut job = post("j1", "t1", Platform::X, T0);
    job.idempotency_key = Some("key".into());
    create(s, &job).await;
    let again = NewJob {
        id: "j1b".into(),
        ..job.clone()
    };
    assert!(matches!(
        s.create_job(&again, 100, 0).await.unwrap(),
        CreateOutcome::Replayed(_)
    ));
    let reused = NewJob {
        request_hash: "other".into(),
        ..again
    };
    assert!(matches!(
        s.create_job(&reused, 100, 0).await.unwrap(),
        CreateOutcome::KeyReused(_)
    ));
    assert!(matches!(
        s.create_job(&post("j2", "t1", Platform::X, T0), 1, 0)
            .await
            .unwrap(),
        CreateOutcome::QuotaExceeded { used: 1, quota: 1 }
    ));
    let history = s
        .tenant_jobs(
            "t1",
            &JobFilter {
                platform: Some(Platform::X),
                ..JobFilter::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    let days = s.jobs_per_day("t1", T0 - 86_400_000).await.unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!((days[0].day, days[0].count), (1, 1));
}

async fn sessions_expire_and_nonces_spend_once(s: &SqlStore) {
    s.create_tenant(&tenant("t1"), "k").await.unwrap();
    let session = SessionRecord {
        id_hash: "sid".into(),
        tenant_id: "t1".into(),
        method: SignInMethod::ApiKey,
        email: None,
        sealed_key: None,
        created_at: T0,
        expires_at: T0 + 1_000,
    };
    s.create_session(&session, T0).await.unwrap();
    assert_eq!(s.session("sid", T0).await.unwrap(), Some(session));
    assert_eq!(s.session("sid", T0 + 1_000).await.unwrap(), None);

    s.create_oidc_login("state", Some("/dashboard"), T0, T0 + 1_000)
        .await
        .unwrap();
    assert_eq!(
        s.take_oidc_login("state", T0).await.unwrap(),
        Some(Some("/dashboard".into()))
    );
    assert_eq!(s.take_oidc_login("state", T0).await.unwrap(), None);

    assert!(s.spend_nonce("n", T0 + 1_000, T0).await.unwrap());
    assert!(!s.spend_nonce("n", T0 + 1_000, T0).await.unwrap());
}

async fn an_identity_creates_its_tenant_once(s: &SqlStore) {
    let id = Identity {
        issuer: "https://id.example".into(),
        subject: "sub".into(),
        tenant_id: String::new(),
        email: "a@example.com".into(),
        created_at: T0,
        last_login_at: T0,
    };
    // Sign-up closed and no invitation: refused, nothing stored.
    let refused = s
        .sign_in_identity(&id, &tenant("t0"), "k0", false)
        .await
        .unwrap();
    assert_eq!(refused, IdentitySignIn::Refused);
    assert_eq!(s.tenant_count().await.unwrap(), 0);
    let first = s
        .sign_in_identity(&id, &tenant("t1"), "k1", true)
        .await
        .unwrap();
    assert_eq!(first, IdentitySignIn::Created(tenant("t1")));
    // Once known, the identity signs in whatever the sign-up policy.
    let second = s
        .sign_in_identity(&id, &tenant("t2"), "k2", false)
        .await
        .unwrap();
    assert_eq!(second, IdentitySignIn::Existing(tenant("t1")));
    assert_eq!(s.tenant_count().await.unwrap(), 1);
    assert_eq!(
        s.tenant_email("t1").await.unwrap().as_deref(),
        Some("a@example.com")
    );
}

async fn media_moves_from_pending_to_ready_to_deleted(s: &SqlStore) {
    s.create_tenant(&tenant("t1"), "k").await.unwrap();
    let media = MediaRecord {
        id: "m1".into(),
        tenant_id: "t1".into(),
        object_key: "m1/a.png".into(),
        filename: "a.png".into(),
        content_type: "image/png".into(),
        platform: Some(Platform::X),
        declared_bytes: Some(3),
        bytes: None,
        sha256: None,
        status: MediaStatus::Pending,
        upload_expires_at: T0 + 1_000,
        expires_at: T0 + 10_000,
        created_at: T0,
        uploaded_at: None,
        deleted_at: None,
    };
    s.insert_media(&media).await.unwrap();
    assert!(s.claim_media_upload("m1", T0).await.unwrap());
    assert!(!s.claim_media_upload("m1", T0).await.unwrap());
    let ready = s
        .complete_media("m1", 3, Some("abc"), T0 + 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ready.status, MediaStatus::Ready);
    assert_eq!(s.media_bytes_since("t1", 0).await.unwrap(), 3);
    let sweep = s.media_to_sweep(T0 + 10_000, 10).await.unwrap();
    assert_eq!(sweep.len(), 1);
    s.mark_media_deleted("m1", T0 + 10_000).await.unwrap();
    assert_eq!(
        s.media("m1").await.unwrap().unwrap().status,
        MediaStatus::Deleted
    );
}

/// The store is usable as a trait object, with every part's methods.
async fn every_part_through_dyn_store(s: &SqlStore) {
    let s: &dyn Store = s;
    s.create_tenant(&tenant("t1"), "k").await.unwrap();
    assert!(s.tenant("t1").await.unwrap().is_some());
    assert!(s.device("none").await.unwrap().is_none());
    assert!(s.job("none").await.unwrap().is_none());
    assert!(s.media("none").await.unwrap().is_none());
    assert!(s.session("none", T0).await.unwrap().is_none());
    assert!(s.identity("i", "s").await.unwrap().is_none());
    assert!(s.client("none").await.unwrap().is_none());
}

async fn a_rotation_revokes_grants_sessions_and_devices(s: &SqlStore) {
    s.create_tenant(&tenant("t1"), "key-1").await.unwrap();
    s.create_tenant(&tenant("t2"), "key-x").await.unwrap();
    s.insert_client(&OAuthClient {
        id: "c1".into(),
        secret_hash: None,
        name: "Agent".into(),
        redirect_uris: vec!["http://127.0.0.1/cb".into()],
        grant_types: vec!["authorization_code".into()],
        auth_method: "none".into(),
        created_at: T0,
    })
    .await
    .unwrap();
    for (grant, tenant_id) in [("g1", "t1"), ("g2", "t1"), ("g3", "t2")] {
        let g = OAuthGrant {
            id: grant.into(),
            client_id: "c1".into(),
            tenant_id: tenant_id.into(),
            scope: "posts:read".into(),
            resource: "http://127.0.0.1/mcp".into(),
            created_at: T0,
            connected_at: Some(T0),
            last_used_at: None,
            revoked_at: None,
        };
        let code = OAuthCode {
            code_hash: format!("code-{grant}"),
            grant_id: grant.into(),
            redirect_uri: "http://127.0.0.1/cb".into(),
            code_challenge: "c".into(),
            expires_at: T0 + 1_000,
            used_at: None,
        };
        s.insert_grant_with_code(&g, &code).await.unwrap();
    }
    for (sid, tenant_id) in [("s1", "t1"), ("s2", "t1"), ("s3", "t2")] {
        let session = SessionRecord {
            id_hash: sid.into(),
            tenant_id: tenant_id.into(),
            method: SignInMethod::ApiKey,
            email: None,
            sealed_key: None,
            created_at: T0,
            expires_at: T0 + 100_000,
        };
        s.create_session(&session, T0).await.unwrap();
    }
    for (dev, tenant_id) in [("d1", "t1"), ("d2", "t2")] {
        let d = Device {
            id: dev.into(),
            tenant_id: Some(tenant_id.into()),
            name: "Chrome".into(),
            pairing_code: None,
            code_expires_at: T0,
            poll_token_hash: format!("poll-{dev}"),
            token_issued: true,
            paired_at: Some(T0),
            last_seen_at: None,
            revoked_at: None,
            pack_version: None,
            created_at: T0,
        };
        s.create_paired_device(&d, &format!("token-{dev}"))
            .await
            .unwrap();
    }

    // From a dashboard session: that session stays, and the devices.
    let from_s1 = Revocation {
        keep_session: Some("s1"),
        devices: false,
    };
    let revoked = s.rotate_key("t1", "key-2", from_s1, T0 + 1).await.unwrap();
    let expected = Revoked {
        grants: 2,
        sessions: 1,
        devices: 0,
    };
    assert_eq!(revoked, Some(expected));
    for g in ["g1", "g2"] {
        assert_eq!(s.grant(g).await.unwrap().unwrap().revoked_at, Some(T0 + 1));
    }
    assert!(s.session("s1", T0).await.unwrap().is_some());
    assert!(s.session("s2", T0).await.unwrap().is_none());
    assert_eq!(s.tenant_devices("t1").await.unwrap().len(), 1);

    // From the command line, devices too: every session ends.
    let everything = Revocation {
        keep_session: None,
        devices: true,
    };
    let revoked = s
        .rotate_key("t1", "key-3", everything, T0 + 2)
        .await
        .unwrap();
    let expected = Revoked {
        grants: 0,
        sessions: 1,
        devices: 1,
    };
    assert_eq!(revoked, Some(expected));
    assert!(s.session("s1", T0).await.unwrap().is_none());
    assert!(s.tenant_devices("t1").await.unwrap().is_empty());
    assert!(s.device_by_token_hash("token-d1").await.unwrap().is_none());

    // The other tenant is untouched.
    assert_eq!(s.grant("g3").await.unwrap().unwrap().revoked_at, None);
    assert!(s.session("s3", T0).await.unwrap().is_some());
    assert_eq!(s.tenant_devices("t2").await.unwrap().len(), 1);
    assert_eq!(s.revoke_tenant_devices("t2", T0 + 3).await.unwrap(), 1);
    assert_eq!(s.revoke_tenant_devices("t2", T0 + 4).await.unwrap(), 0);
}

async fn an_invitation_admits_one_first_sign_in(s: &SqlStore) {
    s.create_tenant(&tenant("team"), "k").await.unwrap();
    let id = |sub: &str, email: &str| Identity {
        issuer: "https://id.example".into(),
        subject: sub.into(),
        tenant_id: String::new(),
        email: email.into(),
        created_at: T0,
        last_login_at: T0,
    };
    // Into an existing tenant; the email matches in any case.
    s.invite(&Invite {
        email: "ada@example.com".into(),
        tenant_id: Some("team".into()),
        created_at: T0,
        used_at: None,
    })
    .await
    .unwrap();
    let ada = s
        .sign_in_identity(&id("a", "Ada@Example.com"), &tenant("t1"), "k1", false)
        .await
        .unwrap();
    assert_eq!(ada, IdentitySignIn::Joined(tenant("team")));
    let spent = s.invite_for("ada@example.com").await.unwrap().unwrap();
    assert_eq!(spent.used_at, Some(T0));
    // Spent: another account with that email is refused.
    let other = s
        .sign_in_identity(&id("a2", "ada@example.com"), &tenant("t2"), "k2", false)
        .await
        .unwrap();
    assert_eq!(other, IdentitySignIn::Refused);

    // Without a tenant: the first sign-in creates one.
    s.invite(&Invite {
        email: "bob@example.com".into(),
        tenant_id: None,
        created_at: T0,
        used_at: None,
    })
    .await
    .unwrap();
    let bob = s
        .sign_in_identity(&id("b", "bob@example.com"), &tenant("t3"), "k3", false)
        .await
        .unwrap();
    assert_eq!(bob, IdentitySignIn::Created(tenant("t3")));
    assert_eq!(s.tenant_count().await.unwrap(), 2);
    assert_eq!(
        s.tenant_email("team").await.unwrap().as_deref(),
        Some("Ada@Example.com")
    );
}
