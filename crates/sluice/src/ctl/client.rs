//! The REST client of `sluice ctl`: only the public Kafka Connect REST API. A server error is
//! reported as the server's `message` with the HTTP status.

use std::time::Duration;

use anyhow::{anyhow, Context as _};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::contexts::Context;

/// An answer the server refused: its status and `message`.
#[derive(Debug)]
pub struct ServerError {
    pub status: StatusCode,
    pub message: String,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (HTTP {})", self.message, self.status.as_u16())
    }
}

impl std::error::Error for ServerError {}

pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: Option<(String, Option<String>)>,
}

/// A successful answer: status and JSON body (`Null` when empty or not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Client {
    pub fn new(ctx: &Context) -> anyhow::Result<Client> {
        let mut b = reqwest::Client::builder().timeout(Duration::from_secs(120));
        if let Some(ts) = &ctx.truststore {
            let pem = std::fs::read(ts)
                .with_context(|| format!("reading the truststore {}", ts.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).with_context(|| {
                format!(
                    "the truststore {} is not a PEM file of certificates",
                    ts.display()
                )
            })?;
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        Ok(Client {
            http: b.build().context("building the HTTP client")?,
            base: ctx.cluster.trim_end_matches('/').to_string(),
            auth: ctx.username.clone().map(|u| (u, ctx.password.clone())),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request; a status of 400 or more becomes a [`ServerError`].
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some((u, p)) = &self.auth {
            req = req.basic_auth(u, p.as_ref());
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| anyhow!("cannot reach {}: {e}", self.base))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| anyhow!("reading the answer of {url}: {e}"))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.as_u16() >= 400 {
            let message = body
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| {
                    let t = text.trim();
                    if t.is_empty() {
                        status.canonical_reason().unwrap_or("error").to_string()
                    } else {
                        t.to_string()
                    }
                });
            return Err(ServerError { status, message }.into());
        }
        Ok(Answer { status, body })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self.call(Method::GET, path, None).await?.body)
    }
}

/// A path segment with everything but unreserved characters percent-encoded.
pub fn seg(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
