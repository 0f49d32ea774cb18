//! A browser-like HTTP client for dashboard tests: a cookie store, no
//! automatic redirects (tests look at each one), and helpers to read the
//! CSRF token from a page and to sign in.
#![allow(dead_code)]

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

/// A response, read.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The `Location` of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no Location on {:?}: {}", self.status, self.body))
    }

    /// The CSRF token of the page's first form that has one.
    pub fn csrf(&self) -> String {
        attr_after(&self.body, r#"name="csrf" value=""#)
            .unwrap_or_else(|| panic!("no CSRF token in page: {}", self.body))
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    /// The value a `Set-Cookie` gives cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            let (k, rest) = c.split_once('=')?;
            (k == name).then(|| rest.split(';').next().unwrap_or("").to_string())
        })
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of the `value="…"` attribute of the element with this id.
    pub fn input_value(&self, id: &str) -> Option<String> {
        let at = self.body.find(&format!(r#"id="{id}""#))?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag_end = at + self.body[at..].find('>')?;
        attr_after(&self.body[tag_start..tag_end], r#"value=""#)
    }
}

/// The HTML-unescaped text between `prefix` and the next `"`.
pub fn attr_after(html: &str, prefix: &str) -> Option<String> {
    let start = html.find(prefix)? + prefix.len();
    let end = start + html[start..].find('"')?;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The opening tags `<name …>` of an HTML document, attributes and all.
pub fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name} ");
    html.match_indices(&open)
        .filter_map(|(i, _)| html[i..].find('>').map(|end| &html[i..i + end + 1]))
        .collect()
}

/// The value of attribute `name` in an opening tag.
pub fn attr(tag: &str, name: &str) -> Option<String> {
    attr_after(tag, &format!(r#" {name}=""#))
}

/// A browser session against one server.
pub struct Browser {
    pub base: String,
    pub http: reqwest::Client,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    pub async fn read(resp: reqwest::Response) -> Page {
        Page {
            status: resp.status(),
            headers: resp.headers().clone(),
            body: resp.text().await.expect("body"),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::read(self.http.get(self.url(path)).send().await.expect("GET")).await
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::read(
            self.http
                .post(self.url(path))
                .form(form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// Posts a form with the CSRF token of the page at `from`.
    pub async fn submit(&self, from: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(from).await.csrf();
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post_form(action, &form).await
    }

    /// Signs in with an API key; asserts it worked.
    pub async fn sign_in(&self, key: &str) -> Page {
        let page = self.submit("/login", "/login", &[("apiKey", key)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), "/");
        page
    }
}
