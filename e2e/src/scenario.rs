//! The scenario format (shared spec `e2e-scenarios.md`): discovery, parsing,
//! `$upload[i]` substitution and the expectation checks. No I/O beyond
//! reading scenario folders.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;

/// Default seconds a job may take to become final.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 60;

/// One scenario folder.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The name printed in `PASS`/`FAIL` lines.
    pub name: String,
    /// The scenario folder.
    pub dir: PathBuf,
}

impl Scenario {
    /// The folder served as the fixture sites (`sites/`).
    pub fn sites(&self) -> PathBuf {
        self.dir.join("sites")
    }

    /// Reads and parses `scenario.json`.
    pub fn load(&self) -> anyhow::Result<ScenarioFile> {
        let path = self.dir.join("scenario.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

/// `scenario.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioFile {
    /// What the scenario shows.
    #[serde(default)]
    pub description: Option<String>,
    /// Files (relative to the scenario folder) uploaded before the request.
    #[serde(default)]
    pub upload: Vec<String>,
    /// The agent's call.
    pub request: RequestSpec,
    /// What must hold afterwards.
    #[serde(default)]
    pub expect: Expect,
    /// Seconds the job may take to become final.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

/// The agent's call.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestSpec {
    /// HTTP method, default `POST`.
    #[serde(default)]
    pub method: Option<String>,
    /// API path, default `/v1/jobs/tweet`.
    #[serde(default)]
    pub path: Option<String>,
    /// JSON body (with `$upload[i]` placeholders).
    #[serde(default)]
    pub body: Option<Value>,
}

impl RequestSpec {
    /// The method to use.
    pub fn method(&self) -> &str {
        self.method.as_deref().unwrap_or("POST")
    }

    /// The path to call.
    pub fn path(&self) -> &str {
        self.path.as_deref().unwrap_or("/v1/jobs/tweet")
    }
}

/// The expectations.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expect {
    /// Status of the request itself (default 201).
    pub http_status: Option<u16>,
    /// Subset of the response body.
    pub body: Option<Value>,
    /// Final job status.
    pub status: Option<String>,
    /// Exact `postUrl`.
    pub post_url: Option<String>,
    /// Regular expression `postUrl` must match in full.
    pub post_url_pattern: Option<String>,
    /// `errorCode` of a failed job.
    pub error_code: Option<String>,
    /// Subset of the job's `details`.
    pub details: Option<Value>,
    /// The fixture records, in order, with no others allowed.
    pub recorded: Option<Vec<Value>>,
}

impl Expect {
    /// The request status to expect.
    pub fn http_status(&self) -> u16 {
        self.http_status.unwrap_or(201)
    }
}

/// The scenarios under each of `dirs`: a folder with `scenario.json` is one
/// scenario; any other folder is searched (subfolders, recursively, in name
/// order). Names are relative to the folder given, prefixed with its own name
/// unless `bare_root` (used for the project's own scenario folder).
pub fn discover(dirs: &[PathBuf], bare_root: bool) -> anyhow::Result<Vec<Scenario>> {
    let mut found = Vec::new();
    for dir in dirs {
        anyhow::ensure!(dir.is_dir(), "{} is not a folder", dir.display());
        let label = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        let before = found.len();
        walk(dir, &mut Vec::new(), &label, bare_root, &mut found)?;
        anyhow::ensure!(
            found.len() > before,
            "{} holds no scenario (no scenario.json in it or its subfolders)",
            dir.display()
        );
    }
    Ok(found)
}

fn walk(
    dir: &Path,
    rel: &mut Vec<String>,
    label: &str,
    bare_root: bool,
    out: &mut Vec<Scenario>,
) -> anyhow::Result<()> {
    if dir.join("scenario.json").is_file() {
        let name = if rel.is_empty() {
            label.to_string()
        } else if bare_root {
            rel.join("/")
        } else {
            format!("{label}/{}", rel.join("/"))
        };
        out.push(Scenario {
            name,
            dir: dir.to_path_buf(),
        });
        return Ok(());
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        rel.push(
            sub.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        );
        walk(&sub, rel, label, bare_root, out)?;
        rel.pop();
    }
    Ok(())
}

/// Replaces `$upload[i]` in every string of `body` with `urls[i]`.
pub fn substitute_uploads(body: &Value, urls: &[String]) -> Result<Value, String> {
    Ok(match body {
        Value::String(s) => Value::String(substitute_str(s, urls)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute_uploads(v, urls))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), substitute_uploads(v, urls)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn substitute_str(s: &str, urls: &[String]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("$upload[") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "$upload[".len()..];
        let end = after
            .find(']')
            .ok_or_else(|| format!("unterminated $upload[ in {s:?}"))?;
        let index: usize = after[..end]
            .trim()
            .parse()
            .map_err(|_| format!("bad index in $upload[{}]", &after[..end]))?;
        let url = urls.get(index).ok_or_else(|| {
            format!(
                "$upload[{index}] but the scenario uploads {} file(s)",
                urls.len()
            )
        })?;
        out.push_str(url);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Checks that `expected` is a subset of `actual`: objects by key
/// (recursively), arrays by length and element, anything else by equality.
/// The error names the first differing path, expected and actual.
pub fn subset(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(exp), Value::Object(act)) => {
            for (key, e) in exp {
                let p = format!("{path}.{key}");
                match act.get(key) {
                    Some(a) => subset(e, a, &p)?,
                    None => return Err(format!("{p}: expected {e}, got nothing")),
                }
            }
            Ok(())
        }
        (Value::Array(exp), Value::Array(act)) => {
            if exp.len() != act.len() {
                return Err(format!(
                    "{path}: expected {} item(s) {expected}, got {} {actual}",
                    exp.len(),
                    act.len()
                ));
            }
            for (i, (e, a)) in exp.iter().zip(act).enumerate() {
                subset(e, a, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, got {a}")),
    }
}

/// Checks the fixture records against `expect.recorded`: same count, same
/// order, each expected record a subset of the actual one (`media` compared
/// by `sha256` and `size` in order).
pub fn check_records(expected: &[Value], actual: &[Value]) -> Result<(), String> {
    let summary = |records: &[Value]| {
        records
            .iter()
            .map(|r| {
                format!(
                    "{}:{} {:?} ({} media)",
                    r["host"].as_str().unwrap_or("?"),
                    r["kind"].as_str().unwrap_or("?"),
                    r["text"].as_str().unwrap_or(""),
                    r["media"].as_array().map_or(0, Vec::len)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if expected.len() != actual.len() {
        return Err(format!(
            "recorded: expected {} record(s), got {} [{}]",
            expected.len(),
            actual.len(),
            summary(actual)
        ));
    }
    for (i, (exp, act)) in expected.iter().zip(actual).enumerate() {
        let exp = match exp {
            Value::Object(map) => {
                let mut map = map.clone();
                // Media entries: only sha256 and size are compared.
                if let Some(Value::Array(media)) = map.get_mut("media") {
                    for m in media.iter_mut() {
                        if let Value::Object(m) = m {
                            m.retain(|k, _| k == "sha256" || k == "size");
                        }
                    }
                }
                Value::Object(map)
            }
            other => return Err(format!("recorded[{i}] is not an object: {other}")),
        };
        subset(&exp, act, &format!("recorded[{i}]"))?;
    }
    Ok(())
}

/// Checks a final job against the expectations other than `recorded`;
/// returns every mismatch.
pub fn check_job(expect: &Expect, job: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let field = |name: &str| job.get(name).cloned().unwrap_or(Value::Null);
    if let Some(status) = &expect.status {
        if job["status"] != *status {
            let mut why = format!("status: expected {status:?}, got {}", field("status"));
            if job["status"] == "failed" {
                why.push_str(&format!(
                    " (errorCode {}, error {})",
                    field("errorCode"),
                    field("error")
                ));
            }
            problems.push(why);
        }
    }
    if let Some(url) = &expect.post_url {
        if job["postUrl"] != *url {
            problems.push(format!(
                "postUrl: expected {url:?}, got {}",
                field("postUrl")
            ));
        }
    }
    if let Some(pattern) = &expect.post_url_pattern {
        match regex::Regex::new(&format!("^(?:{pattern})$")) {
            Err(e) => problems.push(format!("postUrlPattern {pattern:?} is invalid: {e}")),
            Ok(re) => {
                let ok = job["postUrl"].as_str().is_some_and(|u| re.is_match(u));
                if !ok {
                    problems.push(format!(
                        "postUrl: expected a match for {pattern:?}, got {}",
                        field("postUrl")
                    ));
                }
            }
        }
    }
    if let Some(code) = &expect.error_code {
        if job["errorCode"] != *code {
            problems.push(format!(
                "errorCode: expected {code:?}, got {} (error {})",
                field("errorCode"),
                field("error")
            ));
        }
    }
    if let Some(details) = &expect.details {
        if let Err(why) = subset(details, &field("details"), "details") {
            problems.push(why);
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_the_spec_example_with_defaults() {
        let file: ScenarioFile = serde_json::from_value(json!({
            "description": "X: a text post",
            "upload": ["media/photo.png"],
            "request": { "body": { "text": "Hello", "mediaPaths": ["$upload[0]"] } },
            "expect": { "status": "succeeded", "recorded": [] },
        }))
        .unwrap();
        assert_eq!(file.request.method(), "POST");
        assert_eq!(file.request.path(), "/v1/jobs/tweet");
        assert_eq!(file.expect.http_status(), 201);
        assert_eq!(file.timeout_seconds, None);
        assert_eq!(file.upload, vec!["media/photo.png"]);
    }

    #[test]
    fn substitutes_uploads_anywhere_in_the_body() {
        let urls = vec!["http://s/a".to_string(), "http://s/b".to_string()];
        let body = json!({"mediaPaths": ["$upload[1]", "$upload[0]"], "n": 1,
                          "text": "see $upload[0] and $upload[1]"});
        assert_eq!(
            substitute_uploads(&body, &urls).unwrap(),
            json!({"mediaPaths": ["http://s/b", "http://s/a"], "n": 1,
                   "text": "see http://s/a and http://s/b"})
        );
        let err = substitute_uploads(&json!("$upload[2]"), &urls).unwrap_err();
        assert!(err.contains("uploads 2 file(s)"), "{err}");
    }

    #[test]
    fn subset_names_the_differing_path() {
        let actual = json!({"a": 1, "b": {"c": [1, {"d": "x", "e": 2}]}});
        assert!(subset(&json!({"b": {"c": [1, {"d": "x"}]}}), &actual, "body").is_ok());
        let err = subset(&json!({"b": {"c": [1, {"d": "y"}]}}), &actual, "body").unwrap_err();
        assert_eq!(err, "body.b.c[1].d: expected \"y\", got \"x\"");
        let err = subset(&json!({"z": 1}), &actual, "body").unwrap_err();
        assert_eq!(err, "body.z: expected 1, got nothing");
        assert!(subset(&json!({"b": {"c": [1]}}), &actual, "body").is_err());
    }

    #[test]
    fn records_must_match_in_order_without_extras() {
        let actual = vec![json!({"host": "x.com", "kind": "post", "text": "Hi",
            "media": [{"sha256": "ab", "size": 3, "name": "a.png", "type": "image/png"}]})];
        let expected = vec![json!({"host": "x.com", "kind": "post", "text": "Hi",
            "media": [{"sha256": "ab", "size": 3, "name": "ignored.png"}]})];
        assert!(check_records(&expected, &actual).is_ok());
        // A duplicate post is a failure.
        let twice = vec![actual[0].clone(), actual[0].clone()];
        let err = check_records(&expected, &twice).unwrap_err();
        assert!(
            err.starts_with("recorded: expected 1 record(s), got 2"),
            "{err}"
        );
        // Nothing expected, nothing allowed.
        assert!(check_records(&[], &actual).is_err());
        let wrong = vec![json!({"host": "x.com", "kind": "post", "text": "Hi!"})];
        let err = check_records(&wrong, &actual).unwrap_err();
        assert_eq!(err, "recorded[0].text: expected \"Hi!\", got \"Hi\"");
        let wrong_media = vec![json!({"media": [{"sha256": "ab", "size": 4}]})];
        assert!(check_records(&wrong_media, &actual).is_err());
    }

    #[test]
    fn checks_the_final_job() {
        let expect = Expect {
            status: Some("succeeded".into()),
            post_url_pattern: Some(r"https://x\.com/clawtest/status/\d+".into()),
            ..Expect::default()
        };
        let ok = json!({"status": "succeeded", "postUrl": "https://x.com/clawtest/status/17"});
        assert!(check_job(&expect, &ok).is_empty());
        // The pattern must match in full.
        let partial =
            json!({"status": "succeeded", "postUrl": "https://x.com/clawtest/status/17/photo"});
        assert_eq!(check_job(&expect, &partial).len(), 1);
        let failed =
            json!({"status": "failed", "errorCode": "selector_not_found", "error": "no editor"});
        let problems = check_job(&expect, &failed);
        assert!(
            problems[0].contains("expected \"succeeded\", got \"failed\""),
            "{problems:?}"
        );
        assert!(problems[0].contains("selector_not_found"), "{problems:?}");

        let expect = Expect {
            status: Some("failed".into()),
            error_code: Some("rate_limited".into()),
            details: Some(json!({"buttonState": "joined"})),
            ..Expect::default()
        };
        let job = json!({"status": "failed", "errorCode": "rate_limited",
                         "details": {"buttonState": "joined", "more": 1}});
        assert!(check_job(&expect, &job).is_empty());
        let job = json!({"status": "failed", "errorCode": "not_logged_in"});
        assert_eq!(check_job(&expect, &job).len(), 2);
    }

    #[test]
    fn discovers_scenarios_recursively_in_name_order() {
        let root = tempfile::tempdir().unwrap();
        for dir in ["x/b", "x/a", "linkedin/one", "x/_shared/js"] {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        for dir in ["x/b", "x/a", "linkedin/one"] {
            std::fs::write(root.path().join(dir).join("scenario.json"), "{}").unwrap();
        }
        // A scenario's own sites/ is not searched.
        std::fs::create_dir_all(root.path().join("x/a/sites/x.com")).unwrap();
        let names = |v: Vec<Scenario>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
        let all = discover(&[root.path().to_path_buf()], true).unwrap();
        assert_eq!(names(all), vec!["linkedin/one", "x/a", "x/b"]);
        let x = discover(&[root.path().join("x")], false).unwrap();
        assert_eq!(names(x), vec!["x/a", "x/b"]);
        let one = discover(&[root.path().join("x/a")], false).unwrap();
        assert_eq!(names(one), vec!["a"]);
        assert!(discover(&[root.path().join("x/_shared")], false).is_err());
    }
}
