//! Running one scenario against the live setup, and the built-in
//! service-worker restart check.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::browser::{Browser, VirtualDisplay};
use crate::fixture::{describe_hits, Fixture};
use crate::scenario::{self, Scenario, ScenarioFile, DEFAULT_TIMEOUT_SECONDS};
use crate::server::Server;

/// How often a job is polled while waiting for it to become final (the
/// server has no push for an agent; a local GET is cheap).
const POLL_EVERY: Duration = Duration::from_millis(50);
/// After a job is final, how long a late (duplicate) record may still take
/// to arrive when the job's tab stays open: absence has no signal then.
const LATE_RECORD_GRACE: Duration = Duration::from_millis(1500);
/// Once every fixture tab is closed and no record request is in flight, how
/// long to listen still for one the browser had already sent (a request
/// that outlives its page, e.g. `keepalive`).
const LATE_RECORD_QUIET: Duration = Duration::from_millis(250);
/// The built-in restart check's limit from job creation to the job starting.
pub const RESTART_START_LIMIT: Duration = Duration::from_secs(1);

/// Everything a scenario runs against.
pub struct Setup {
    /// The real server.
    pub server: Server,
    /// The HTTPS fixture server.
    pub fixture: Fixture,
    /// Chromium with the extension.
    pub browser: Browser,
    /// The extension id, when the extension is loaded.
    pub extension_id: Option<String>,
    /// Why the extension is not paired, if it is not.
    pub not_ready: Option<String>,
    /// Headed mode: the Xvfb display Chromium runs on (dropped after it).
    pub _display: Option<VirtualDisplay>,
}

/// How a scenario ended.
pub type Outcome = Result<(), String>;

/// Runs one scenario: fresh fixture state, uploads, the request, the job's
/// final state and the records.
pub async fn run_scenario(setup: &Setup, scenario: &Scenario) -> Outcome {
    let file = scenario.load().map_err(|e| format!("{e:#}"))?;
    if let Some(description) = &file.description {
        eprintln!("e2e:   {description}");
    }
    run_file(setup, scenario, &file, None).await.map(|_| ())
}

/// Measures the start of the job for the restart check.
struct StartProbe;

async fn run_file(
    setup: &Setup,
    scenario: &Scenario,
    file: &ScenarioFile,
    probe: Option<StartProbe>,
) -> Result<Option<Duration>, String> {
    prepare(setup, scenario).await?;

    let mut urls = Vec::new();
    for upload in &file.upload {
        let url = setup
            .server
            .upload(&scenario.dir.join(upload))
            .await
            .map_err(|e| format!("upload {upload}: {e:#}"))?;
        urls.push(url);
    }
    let body = file
        .request
        .body
        .as_ref()
        .map(|b| scenario::substitute_uploads(b, &urls))
        .transpose()?;

    let created_at = Instant::now();
    let (status, response) = setup
        .server
        .call(file.request.method(), file.request.path(), body.as_ref())
        .await
        .map_err(|e| {
            format!(
                "request {} {}: {e:#}",
                file.request.method(),
                file.request.path()
            )
        })?;
    let expect = &file.expect;
    if status != expect.http_status() {
        return Err(format!(
            "HTTP status: expected {}, got {status} {response}",
            expect.http_status()
        ));
    }
    if let Some(body) = &expect.body {
        scenario::subset(body, &response, "body")?;
    }
    if !(200..300).contains(&status) {
        return Ok(None);
    }

    let mut started = None;
    let mut problems = Vec::new();
    let mut diagnostic = Value::Null;
    if expect.status.is_some() || probe.is_some() {
        let id = response["id"]
            .as_str()
            .ok_or_else(|| format!("the response has no job id: {response}"))?;
        if probe.is_some() {
            started = Some(wait_started(setup, id, created_at).await?);
        }
        let timeout = Duration::from_secs(file.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS));
        let job = wait_final(setup, id, created_at + timeout).await?;
        eprintln!(
            "e2e:   job {} {:.1} s after its creation",
            job["status"],
            created_at.elapsed().as_secs_f64()
        );
        if job["status"] != "succeeded" && job["status"] != "failed" {
            return Err(format!(
                "job still {} after {}s (expected {}); fixture requests: [{}]",
                job["status"],
                timeout.as_secs(),
                expect.status.as_deref().unwrap_or("a final status"),
                describe_hits(&setup.fixture.hits())
            ));
        }
        problems.extend(scenario::check_job(expect, &job));
        diagnostic = job["diagnostic"].clone();
    }
    if let Some(recorded) = &expect.recorded {
        let settling = Instant::now();
        let closed = wait_late_records(setup).await;
        eprintln!(
            "e2e:   records settled in {} ms ({})",
            settling.elapsed().as_millis(),
            if closed {
                "the job's tab closed"
            } else {
                "a fixture tab stayed open"
            }
        );
        if let Err(why) = scenario::check_records(recorded, &setup.fixture.records()) {
            problems.push(why);
        }
    }
    match setup.browser.user_tab_left_front().await {
        Ok(Some(why)) => eprintln!("e2e:   headed: {why} (something took the foreground)"),
        Ok(None) => {}
        Err(e) => eprintln!("e2e:   headed: the user tab could not be read: {e:#}"),
    }
    if problems.is_empty() {
        Ok(started)
    } else {
        show_failure(setup, created_at, &diagnostic);
        Err(problems.join("; "))
    }
}

/// For a failed scenario, on stderr: the fixture requests in order (time
/// since the job's creation) and the job's `diagnostic`, if any.
fn show_failure(setup: &Setup, created_at: Instant, diagnostic: &Value) {
    for hit in setup.fixture.hits() {
        let at = hit.at.saturating_duration_since(created_at).as_secs_f64();
        if !hit.what.ends_with(".js") && !hit.what.ends_with(".css") {
            eprintln!("e2e:   +{at:.2} s {} {}", hit.host, hit.what);
        }
    }
    if !diagnostic.is_null() {
        let mut text = diagnostic.to_string();
        if text.len() > 3000 {
            let cut = (0..=3000)
                .rev()
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            text.truncate(cut);
            text.push('…');
        }
        eprintln!("e2e:   diagnostic: {text}");
    }
}

/// Points the fixture server at the scenario's sites and clears the fixture
/// origins in the browser.
async fn prepare(setup: &Setup, scenario: &Scenario) -> Result<(), String> {
    // Close the previous scenario's tabs while the old sites still serve,
    // then switch.
    setup
        .browser
        .reset_fixture_origins()
        .await
        .map_err(|e| format!("clearing the fixture origins: {e:#}"))?;
    let sites = scenario.sites();
    setup
        .fixture
        .use_sites(sites.is_dir().then_some(sites.as_path()));
    // Headed: the user is looking at their own tab; the job runs behind it.
    if let Some(focused) = setup
        .browser
        .bring_user_tab_to_front()
        .await
        .map_err(|e| format!("bringing the user tab to the front: {e:#}"))?
    {
        if !focused {
            eprintln!("e2e:   headed: the user tab is in front but its window has no focus");
        }
    }
    Ok(())
}

/// After the job is final: lets a late (duplicate) record arrive before the
/// records are checked. The extension closes the job's tab after its ack;
/// once no tab is on a fixture host, no page is left to post: a short quiet
/// period follows for requests already sent, then any record request in
/// flight is waited for. When a tab stays open, the whole
/// [`LATE_RECORD_GRACE`] is waited. Returns whether every fixture tab closed.
async fn wait_late_records(setup: &Setup) -> bool {
    let start = Instant::now();
    let closed = setup
        .browser
        .wait_fixture_tabs_closed(LATE_RECORD_GRACE)
        .await
        .unwrap_or(false);
    if closed {
        tokio::time::sleep(LATE_RECORD_QUIET).await;
    } else {
        tokio::time::sleep(LATE_RECORD_GRACE.saturating_sub(start.elapsed())).await;
    }
    setup.fixture.wait_records_idle(LATE_RECORD_GRACE).await;
    closed
}

/// Polls the job until it is final or `deadline` passes; returns the last
/// state seen.
async fn wait_final(setup: &Setup, id: &str, deadline: Instant) -> Result<Value, String> {
    loop {
        let job = setup.server.job(id).await.map_err(|e| format!("{e:#}"))?;
        let done = job["status"] == "succeeded" || job["status"] == "failed";
        if done || Instant::now() >= deadline {
            return Ok(job);
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Time from job creation to its first sign of life: the first fixture
/// request, or the job leaving `queued`, whichever comes first.
async fn wait_started(setup: &Setup, id: &str, created_at: Instant) -> Result<Duration, String> {
    let limit = Duration::from_secs(10);
    let fixture = async {
        setup
            .fixture
            .first_hit_since(created_at, limit)
            .await
            .map(|hit| (hit.at, format!("fixture request {} {}", hit.host, hit.what)))
    };
    let leased = async {
        loop {
            match setup.server.job(id).await {
                Ok(job) if job["status"] != "queued" => {
                    return Some((Instant::now(), format!("job status {}", job["status"])));
                }
                Ok(_) if created_at.elapsed() > limit => return None,
                Ok(_) => {}
                Err(_) => return None,
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let first = tokio::select! {
        Some(hit) = fixture => Some(hit),
        Some(lease) = leased => Some(lease),
        else => None,
    };
    match first {
        Some((at, what)) => {
            let took = at.saturating_duration_since(created_at);
            eprintln!("e2e: worker-restart: first sign of the job after {} ms ({what})", took.as_millis());
            Ok(took)
        }
        None => Err(format!(
            "the job showed no sign of starting within {}s of creation after the service worker was stopped",
            limit.as_secs()
        )),
    }
}

/// The built-in check: with the extension idle, stop its service worker
/// (`Target.closeTarget`), create the job of `scenario`, and require it to
/// start within [`RESTART_START_LIMIT`] and then pass as a normal scenario.
pub async fn run_worker_restart(setup: &Setup, scenario: &Scenario) -> Outcome {
    let file = scenario.load().map_err(|e| format!("{e:#}"))?;
    let ext = setup
        .extension_id
        .as_deref()
        .ok_or("the extension is not loaded")?;
    let killed = setup
        .browser
        .kill_service_worker(ext)
        .await
        .map_err(|e| format!("stopping the service worker: {e:#}"))?;
    if !killed {
        eprintln!("e2e: worker-restart: the service worker was already stopped by Chromium");
    }
    if let Some(still) = setup
        .browser
        .service_worker(ext)
        .await
        .map_err(|e| format!("{e:#}"))?
    {
        eprintln!("e2e: worker-restart: Chromium restarted the service worker at once ({still})");
    }
    let took = run_file(setup, scenario, &file, Some(StartProbe))
        .await?
        .ok_or("the job start was not measured")?;
    if took > RESTART_START_LIMIT {
        return Err(format!(
            "start after a service-worker stop: expected within {} ms of job creation, got {} ms",
            RESTART_START_LIMIT.as_millis(),
            took.as_millis()
        ));
    }
    Ok(())
}
