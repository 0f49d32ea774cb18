//! End to end with an official MCP SDK client: the Python `mcp` package runs
//! `tests/mcp/e2e_client.py` against the real server. From nothing but the
//! `/mcp` URL it discovers the authorization server from a 401, registers,
//! authorizes with PKCE (approving the real consent form after signing in
//! with the API key, as the user's browser would), lists and calls every
//! tool, and refreshes its token after this test moves the server's clock
//! past the access token's lifetime.
//!
//! The client comes from `target/mcp-venv` (made by `./build.sh test`:
//! `python3 -m venv target/mcp-venv && target/mcp-venv/bin/pip install -r
//! server/tests/mcp/requirements.txt`), or the Python named by
//! `CLAWPOST_MCP_PYTHON`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::common::{Db, TestApp};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("CLAWPOST_MCP_PYTHON") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = root.join("target/mcp-venv/bin/python");
    assert!(
        venv.exists(),
        "The MCP end-to-end test needs the Python MCP SDK: run `./build.sh test`, or \
         `python3 -m venv target/mcp-venv && target/mcp-venv/bin/pip install -r server/tests/mcp/requirements.txt` \
         in the workspace, or set CLAWPOST_MCP_PYTHON"
    );
    venv
}

async fn sdk_client_connects_and_uses_every_tool(db: Db) {
    let app = TestApp::spawn(db).await;
    app.pair_device(&app.api_key).await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/e2e_client.py");
    let mut child = Command::new(python())
        .arg(&script)
        .env("MCP_URL", app.url("/mcp"))
        .env("CLAWPOST_KEY", &app.api_key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the Python MCP client");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();

    let run = async {
        let mut summary = None;
        while let Some(line) = lines.next_line().await.expect("read the client's output") {
            let msg: Value = serde_json::from_str(&line)
                .unwrap_or_else(|_| panic!("the client printed a non-JSON line: {line}"));
            if msg["event"] == "expire" {
                // Past the access token's lifetime, well within the refresh token's.
                app.clock.advance_ms(2 * 60 * 60_000);
                stdin.write_all(b"advanced\n").await.unwrap();
                stdin.flush().await.unwrap();
            } else {
                summary = Some(msg);
            }
        }
        let status = child.wait().await.expect("wait for the client");
        (status, summary)
    };
    let (status, summary) = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the MCP client finished within two minutes");
    assert!(status.success(), "the MCP client failed: {status}");
    let summary = summary.expect("the client printed its summary");
    assert_eq!(summary["refreshed"], true, "{summary}");
    assert_eq!(summary["legacyTools"], 6, "{summary}");
    assert_eq!(summary["tenantId"], app.tenant_id.as_str(), "{summary}");

    // The post created through MCP is the tenant's job, seen through REST.
    let job_id = summary["jobId"].as_str().expect("job id");
    let job = app.job(job_id, Some(&app.api_key)).await;
    assert_eq!(job["tenantId"], app.tenant_id.as_str());
    assert_eq!(job["text"], "Posted through MCP");
    assert_eq!(job["platform"], "linkedin");
    assert_eq!(job["idempotencyKey"], "e2e-1");
    assert_eq!(job["status"], "queued");
    // Created once, despite the idempotent replay.
    assert_eq!(app.usage(&app.api_key).await["used"], 1);

    // The dashboard lists the connected client.
    let connections = app
        .state
        .store
        .tenant_connections(&app.tenant_id)
        .await
        .unwrap();
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0].client_name, "e2e-agent");
    assert_eq!(
        connections[0].grant.client_id,
        summary["clientId"].as_str().unwrap()
    );
}

both_stores!(sdk_client, sdk_client_connects_and_uses_every_tool);
