//! The real `clawpost-server` binary on a temporary SQLite data folder, and
//! the agent-side HTTP calls the scenarios make.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// The header agents authenticate with.
const API_KEY_HEADER: &str = "clawpost-api-key";

/// A running server and the tenant the scenarios act as.
pub struct Server {
    _child: Child,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    api_key: String,
    http: reqwest::Client,
}

/// Environment variables of the server that would point it elsewhere.
const SERVER_ENV: &[&str] = &[
    "DATABASE_URL",
    "CLAWPOST_DATA_DIR",
    "CLAWPOST_BIND",
    "CLAWPOST_PUBLIC_URL",
];

fn server_command(bin: &Path, data_dir: &Path) -> Command {
    let mut cmd = Command::new(bin);
    for var in SERVER_ENV {
        cmd.env_remove(var);
    }
    cmd.arg("--data-dir").arg(data_dir);
    cmd
}

impl Server {
    /// Creates a tenant with `clawpost-server tenant create`, then starts
    /// `clawpost-server serve` on a free port; its output goes to `log`.
    pub async fn start(bin: &Path, data_dir: &Path, log: &Path) -> anyhow::Result<Server> {
        anyhow::ensure!(
            bin.is_file(),
            "server binary {} is missing (build it with `cargo build --release -p clawpost-server`)",
            bin.display()
        );
        let created = server_command(bin, data_dir)
            .args(["tenant", "create", "--name", "e2e"])
            .stdin(Stdio::null())
            .output()
            .await
            .context("running `clawpost-server tenant create`")?;
        if !created.status.success() {
            bail!(
                "`clawpost-server tenant create` failed: {}",
                String::from_utf8_lossy(&created.stderr)
            );
        }
        let line = String::from_utf8_lossy(&created.stdout);
        let tenant: Value = line
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .with_context(|| format!("unexpected `tenant create` output: {line}"))?;
        let api_key = tenant["apiKey"]
            .as_str()
            .context("`tenant create` printed no apiKey")?
            .to_string();

        let port = free_port()?;
        let base_url = format!("http://127.0.0.1:{port}");
        let mut child = server_command(bin, data_dir)
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--public-url")
            .arg(&base_url)
            // Scenarios post one after another: no pacing between them.
            .arg("--no-pacing")
            .arg("serve")
            .env("RUST_LOG", "clawpost_server=debug,tower_http=info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting clawpost-server")?;
        let log_file = tokio::fs::File::create(log).await?;
        let log_file = std::sync::Arc::new(tokio::sync::Mutex::new(log_file));
        let stderr = child.stderr.take().context("server stderr")?;
        tokio::spawn(copy_lines(stderr, log_file.clone(), None));
        let stdout = child.stdout.take().context("server stdout")?;
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(copy_lines(
            stdout,
            log_file,
            Some(("listening on".to_string(), ready_tx)),
        ));
        // The server prints its "listening on" line after binding.
        match tokio::time::timeout(Duration::from_secs(30), ready_rx).await {
            Ok(Ok(_)) => {}
            _ => bail!(
                "clawpost-server did not start listening on port {port} (see {})",
                log.display()
            ),
        }
        Ok(Server {
            _child: child,
            base_url,
            api_key,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
        })
    }

    /// Calls the API as the tenant; returns the status and the body (JSON,
    /// or a JSON string when the body is not JSON).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .with_context(|| format!("bad HTTP method {method:?}"))?;
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .header(API_KEY_HEADER, &self.api_key);
        if let Some(body) = body {
            req = req.json(body);
        }
        read_response(req.send().await?).await
    }

    /// Uploads one file with `POST /v1/media/upload`; returns the URL to put
    /// in `mediaPaths`.
    pub async fn upload(&self, file: &Path) -> anyhow::Result<String> {
        let bytes = tokio::fs::read(file)
            .await
            .with_context(|| format!("reading {}", file.display()))?;
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("upload")
            .to_string();
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(name.clone())
            .mime_str(mime_for(&name))?;
        let form = reqwest::multipart::Form::new().part("file", part);
        let res = self
            .http
            .post(format!("{}/v1/media/upload", self.base_url))
            .header(API_KEY_HEADER, &self.api_key)
            .multipart(form)
            .send()
            .await?;
        let (status, body) = read_response(res).await?;
        if !(200..300).contains(&status) {
            bail!("POST /v1/media/upload of {name} answered {status} {body}");
        }
        body["url"]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("POST /v1/media/upload of {name} returned no url: {body}"))
    }

    /// Pairs the extension that shows `code`.
    pub async fn pair(&self, code: &str) -> anyhow::Result<()> {
        let (status, body) = self
            .call(
                "POST",
                "/v1/connect/pair",
                Some(&serde_json::json!({ "code": code })),
            )
            .await?;
        if !(200..300).contains(&status) {
            bail!("POST /v1/connect/pair answered {status} {body}");
        }
        Ok(())
    }

    /// Reads a job with `GET /v1/jobs/:id`.
    pub async fn job(&self, id: &str) -> anyhow::Result<Value> {
        let (status, body) = self.call("GET", &format!("/v1/jobs/{id}"), None).await?;
        if status != 200 {
            bail!("GET /v1/jobs/{id} answered {status} {body}");
        }
        Ok(body)
    }
}

async fn read_response(res: reqwest::Response) -> anyhow::Result<(u16, Value)> {
    let status = res.status().as_u16();
    let text = res.text().await?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, body))
}

fn mime_for(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or_default();
    match ext.to_ascii_lowercase().as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        _ => "application/octet-stream",
    }
}

/// A port that was free a moment ago (the server binds it by number).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

type SharedFile = std::sync::Arc<tokio::sync::Mutex<tokio::fs::File>>;

/// Copies a child's output lines into a log file; signals `ready` once a line
/// containing its marker appears (sending that line).
pub async fn copy_lines(
    stream: impl tokio::io::AsyncRead + Unpin,
    log: SharedFile,
    mut ready: Option<(String, tokio::sync::oneshot::Sender<String>)>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        {
            let mut file = log.lock().await;
            let _ = file.write_all(line.as_bytes()).await;
            let _ = file.write_all(b"\n").await;
            let _ = file.flush().await;
        }
        if ready
            .as_ref()
            .is_some_and(|(marker, _)| line.contains(marker))
        {
            if let Some((_, tx)) = ready.take() {
                let _ = tx.send(line.clone());
            }
        }
    }
}
