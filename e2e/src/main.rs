//! `clawpost-e2e`: runs end-to-end scenarios (shared spec
//! `e2e-scenarios.md`) against the real server, the real extension in
//! Chromium (headless, or headed under Xvfb with `--headed`) and HTTPS
//! fixture sites under the platforms' hostnames.
//!
//! Prints `PASS name (T s)` / `FAIL name (T s): why` per scenario, then `N
//! passed, M failed`; exits 1 when anything failed. Progress goes to stderr.

mod browser;
mod cdp;
mod fixture;
#[cfg(test)]
mod fixture_tests;
mod runner;
mod scenario;
mod server;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;

use crate::browser::{Browser, VirtualDisplay};
use crate::fixture::Fixture;
use crate::runner::Setup;
use crate::scenario::Scenario;
use crate::server::Server;

/// Runs Claw Post end-to-end scenarios.
#[derive(Debug, Parser)]
#[command(name = "clawpost-e2e", version, about)]
struct Args {
    /// Scenario folders: each is one scenario (has scenario.json) or a folder
    /// whose subfolders are scenarios. Default: every scenario under
    /// ROOT/e2e/scenarios.
    dirs: Vec<PathBuf>,
    /// The project root (default: the current folder).
    #[arg(long)]
    root: Option<PathBuf>,
    /// The server binary (default: ROOT/target/release/clawpost-server).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// The unpacked extension (default: ROOT/dist/extension).
    #[arg(long)]
    extension: Option<PathBuf>,
    /// Also run the built-in service-worker restart check (default when no
    /// DIR is given).
    #[arg(long, conflicts_with = "no_worker_restart")]
    worker_restart: bool,
    /// Skip the built-in service-worker restart check.
    #[arg(long)]
    no_worker_restart: bool,
    /// Where the server and Chromium logs go (default: ROOT/target/e2e).
    #[arg(long)]
    logs: Option<PathBuf>,
    /// Run Chromium headed on its own Xvfb display (Debian's xvfb; `build.sh
    /// e2e --headed` installs it), with a user tab kept in front so that the
    /// jobs' tabs are in the background, as for a real user.
    #[arg(long)]
    headed: bool,
    /// Run only share K of N (`2/3`): every N-th scenario in name order,
    /// starting at the K-th; the built-in restart check goes with share 1.
    /// Shares are independent runs (own server, fixture server, Chromium),
    /// so `build.sh test` runs them side by side.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
}

/// Parses `K/N` with 1 ≤ K ≤ N.
fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?} is not K/N (e.g. 1/3)"))?;
    let k: usize = k
        .trim()
        .parse()
        .map_err(|_| format!("{k:?} is not a number"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("{n:?} is not a number"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("{s:?}: need 1 <= K <= N"));
    }
    Ok((k, n))
}

/// The name and folder of the built-in restart check.
const WORKER_RESTART_NAME: &str = "builtin/worker-restart";

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let root = match &args.root {
        Some(root) => root.clone(),
        None => std::env::current_dir().expect("current folder"),
    };
    let scenarios = if args.dirs.is_empty() {
        scenario::discover(&[root.join("e2e/scenarios")], true)
    } else {
        scenario::discover(&args.dirs, false)
    };
    let mut scenarios = match scenarios {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let (share, shares) = args.shard.unwrap_or((1, 1));
    scenarios.sort_by(|a, b| a.name.cmp(&b.name));
    let scenarios: Vec<Scenario> = scenarios
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % shares == share - 1)
        .map(|(_, s)| s)
        .collect();
    let worker_restart =
        share == 1 && !args.no_worker_restart && (args.worker_restart || args.dirs.is_empty());
    let restart_scenario = Scenario {
        name: WORKER_RESTART_NAME.to_string(),
        dir: root.join("e2e/builtin/worker-restart"),
    };

    let tmp = match tempfile::Builder::new().prefix("clawpost-e2e-").tempdir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: creating a temporary folder: {e}");
            return ExitCode::from(2);
        }
    };
    let mut logs = args.logs.clone().unwrap_or_else(|| root.join("target/e2e"));
    if shares > 1 {
        logs = logs.join(format!("share-{share}-of-{shares}"));
    }
    let setup = start(&args, &root, tmp.path(), &logs).await;

    let mut passed = 0;
    let mut failed = 0;
    let mut report = |name: &str, took: Option<Duration>, outcome: Result<(), String>| {
        let took = took
            .map(|t| format!(" ({:.1} s)", t.as_secs_f64()))
            .unwrap_or_default();
        match outcome {
            Ok(()) => {
                passed += 1;
                println!("PASS {name}{took}");
            }
            Err(why) => {
                failed += 1;
                println!("FAIL {name}{took}: {}", why.replace('\n', " "));
            }
        }
    };
    match &setup {
        Err(e) => {
            eprintln!("error: {e:#}");
            let why = format!("setup failed: {e:#}");
            for s in &scenarios {
                report(&s.name, None, Err(why.clone()));
            }
            if worker_restart {
                report(WORKER_RESTART_NAME, None, Err(why));
            }
        }
        Ok(setup) => {
            let with_setup_note = |outcome: runner::Outcome| {
                outcome.map_err(|why| match &setup.not_ready {
                    Some(not_ready) => format!("{why} [extension not ready: {not_ready}]"),
                    None => why,
                })
            };
            for s in &scenarios {
                eprintln!("e2e: running {}", s.name);
                let start = Instant::now();
                let outcome = runner::run_scenario(setup, s).await;
                report(&s.name, Some(start.elapsed()), with_setup_note(outcome));
            }
            if worker_restart {
                eprintln!("e2e: running {WORKER_RESTART_NAME}");
                let start = Instant::now();
                let outcome = runner::run_worker_restart(setup, &restart_scenario).await;
                report(
                    WORKER_RESTART_NAME,
                    Some(start.elapsed()),
                    with_setup_note(outcome),
                );
            }
        }
    }
    if failed > 0 {
        eprintln!("e2e: logs in {}", logs.display());
    }
    println!("{passed} passed, {failed} failed");
    drop(setup);
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Starts the server, the fixture server and Chromium, and pairs the
/// extension. Pairing problems are kept in `not_ready` (the scenarios then
/// fail with the reason); anything else is fatal.
async fn start(args: &Args, root: &Path, tmp: &Path, logs: &Path) -> anyhow::Result<Setup> {
    std::fs::create_dir_all(logs).with_context(|| format!("creating {}", logs.display()))?;
    // Both binaries first, so that a missing one fails before anything starts.
    let chromium = browser::find_chromium()?;
    let xvfb = if args.headed {
        Some(browser::find_xvfb()?)
    } else {
        None
    };
    let server_bin = args
        .server_bin
        .clone()
        .unwrap_or_else(|| root.join("target/release/clawpost-server"));
    let data = tmp.join("data");
    std::fs::create_dir_all(&data)?;
    let server = Server::start(&server_bin, &data, &logs.join("server.log")).await?;
    eprintln!("e2e: server at {}", server.base_url);
    let fixture = Fixture::start().await?;
    eprintln!("e2e: fixture sites on 127.0.0.1:{}", fixture.port);

    let ext_dir = args
        .extension
        .clone()
        .unwrap_or_else(|| root.join("dist/extension"));
    let ext_dir = ext_dir.canonicalize().unwrap_or(ext_dir);
    let (loaded, extension_id, mut not_ready) = if ext_dir.join("manifest.json").is_file() {
        match browser::extension_id(&ext_dir) {
            Ok(id) => (Some(ext_dir.as_path()), Some(id), None),
            Err(e) => (Some(ext_dir.as_path()), None, Some(format!("{e:#}"))),
        }
    } else {
        let why = format!(
            "no extension at {} (build it with scripts/build-extension.sh)",
            ext_dir.display()
        );
        (None, None, Some(why))
    };
    let display = if let Some(xvfb) = &xvfb {
        let display = VirtualDisplay::start(xvfb, &logs.join("xvfb.log")).await?;
        eprintln!("e2e: headed Chromium on Xvfb display {}", display.name);
        Some(display)
    } else {
        None
    };
    let mut browser = Browser::launch(
        &chromium,
        loaded,
        display.as_ref().map(|d| d.name.as_str()),
        fixture.port,
        &tmp.join("profile"),
        &logs.join("chromium.log"),
    )
    .await?;
    if let Some(id) = &extension_id {
        eprintln!("e2e: extension {id}; pairing");
        let paired = async {
            browser
                .wait_for_service_worker(id, Duration::from_secs(15))
                .await?;
            browser.pair(id, &server).await
        };
        if let Err(e) = paired.await {
            not_ready = Some(format!("pairing failed: {e:#}"));
        }
    }
    if let Some(why) = &not_ready {
        eprintln!("e2e: extension not ready: {why}");
    }
    if display.is_some() {
        browser
            .open_user_tab()
            .await
            .context("opening the user tab")?;
    }
    Ok(Setup {
        server,
        fixture,
        browser,
        extension_id,
        not_ready,
        _display: display,
    })
}

#[cfg(test)]
mod shard_tests {
    use super::parse_shard;

    #[test]
    fn shares_parse_as_k_of_n() {
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
        assert_eq!(parse_shard(" 1 / 1 "), Ok((1, 1)));
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", ""] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
