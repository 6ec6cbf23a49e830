//! taosAdapter over HTTP: `connection.url` mapping (reference §11), REST SQL (`/rest/sql/<db>`)
//! and the schemaless endpoints (`/influxdb/v1/write`, `/opentsdb/v1/put/{telnet,json}/<db>`).
//! Credentials go in a Basic header only; no message here ever contains the password.

use std::time::Duration;

use base64::Engine as _;

/// A schemaless protocol (`db.schemaless`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Line,
    Telnet,
    Json,
}

impl Protocol {
    /// Parses `line`/`telnet`/`json`, case-insensitively.
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.trim().to_ascii_lowercase().as_str() {
            "line" => Some(Protocol::Line),
            "telnet" => Some(Protocol::Telnet),
            "json" => Some(Protocol::Json),
            _ => None,
        }
    }
}

/// Where `connection.url` points, as taosAdapter's base URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `TAOS`, `TAOS-RS` or `TAOS-WS`.
    pub product: String,
    /// `http://host:port` of taosAdapter.
    pub base: String,
    /// The database in the URL path, if any.
    pub database: Option<String>,
    /// A native URL (`jdbc:TAOS://`) whose port was replaced by taosAdapter's 6041.
    pub native_port_replaced: bool,
}

/// taosAdapter's default port.
pub const ADAPTER_PORT: u16 = 6041;

/// Maps `jdbc:<TAOS|TAOS-RS|TAOS-WS>://[host][:port][/db][?params]` to taosAdapter.
/// A native URL keeps its host and uses port 6041 (Sluice has no native protocol).
pub fn parse_url(url: &str) -> Result<Endpoint, String> {
    let url = url.trim();
    let rest = url
        .strip_prefix("jdbc:")
        .ok_or_else(|| format!("connection.url '{url}' must start with jdbc:TAOS"))?;
    let (product, rest) = rest
        .split_once("://")
        .ok_or_else(|| format!("connection.url '{url}' has no '://' after the product name"))?;
    if !matches!(product, "TAOS" | "TAOS-RS" | "TAOS-WS") {
        return Err(format!(
            "connection.url '{url}': product '{product}' is not one of TAOS, TAOS-RS, TAOS-WS"
        ));
    }
    let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => {
            let port: u16 = p.parse().map_err(|_| {
                format!("connection.url '{url}': port '{p}' is not a number from 0 to 65535")
            })?;
            (h, Some(port))
        }
        None => (authority, None),
    };
    let host = if host.is_empty() { "localhost" } else { host };
    let native = product == "TAOS";
    let port_used = if native {
        ADAPTER_PORT
    } else {
        port.unwrap_or(ADAPTER_PORT)
    };
    let database = Some(path.trim_matches('/').to_string()).filter(|d| !d.is_empty());
    Ok(Endpoint {
        product: product.to_string(),
        base: format!("http://{host}:{port_used}"),
        database,
        native_port_replaced: native && port != Some(ADAPTER_PORT),
    })
}

/// Why a call to taosAdapter failed.
#[derive(Debug)]
pub enum TdError {
    /// No answer, a broken connection or an overloaded/unavailable adapter: worth retrying.
    Unreachable(String),
    /// 401: bad `connection.user`/`connection.password`.
    Auth(String),
    /// TDengine refused the statement or data: its code and text.
    Server { code: i64, desc: String },
    /// An answer that is not what taosAdapter sends.
    Protocol(String),
}

impl std::fmt::Display for TdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TdError::Unreachable(m) | TdError::Auth(m) | TdError::Protocol(m) => f.write_str(m),
            TdError::Server { code, desc } => write!(f, "TDengine ERROR (0x{code:x}): {desc}"),
        }
    }
}

impl std::error::Error for TdError {}

/// The rows of a REST query: column names and types, and rows of JSON values.
#[derive(Clone, Debug, Default)]
pub struct Rows {
    pub columns: Vec<(String, String)>,
    pub data: Vec<Vec<serde_json::Value>>,
}

/// An HTTP client for one taosAdapter and account.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    user: String,
    auth: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("user", &self.user)
            .finish()
    }
}

/// Reads a TDengine error out of a body: REST `{"code":n,"desc":…}`, InfluxDB
/// `{"code":"…","message":"[0x3004] …"}`.
fn server_error(status: u16, body: &str) -> TdError {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    let desc = v
        .get("desc")
        .or_else(|| v.get("message"))
        .and_then(|d| d.as_str())
        .map(str::to_string);
    let mut code = v.get("code").and_then(|c| c.as_i64()).unwrap_or(0);
    match desc {
        Some(mut d) => {
            // `[0x3004] text` carries the code in the text.
            if let Some(rest) = d.strip_prefix("[0x") {
                if let Some((hex, text)) = rest.split_once("] ") {
                    if let Ok(c) = i64::from_str_radix(hex, 16) {
                        code = c;
                        d = text.to_string();
                    }
                }
            }
            TdError::Server { code, desc: d }
        }
        None => TdError::Protocol(format!(
            "taosAdapter answered HTTP {status} with an unexpected body: {}",
            body.chars().take(200).collect::<String>()
        )),
    }
}

impl Client {
    pub fn new(base: &str, user: &str, password: &str) -> Result<Client, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            user: user.to_string(),
            auth,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn post(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: String,
    ) -> Result<(u16, String), TdError> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .http
            .post(&url)
            .query(query)
            .header("Authorization", &self.auth)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                TdError::Unreachable(format!("taosAdapter at {} is unreachable: {e}", self.base))
            })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| {
            TdError::Unreachable(format!(
                "taosAdapter at {} broke off its answer: {e}",
                self.base
            ))
        })?;
        match status {
            401 | 403 => Err(TdError::Auth(format!(
                "taosAdapter at {} rejected user '{}' (HTTP {status}): check connection.user and connection.password",
                self.base, self.user
            ))),
            502..=504 => Err(TdError::Unreachable(format!(
                "taosAdapter at {} is unavailable (HTTP {status})",
                self.base
            ))),
            404 => Err(TdError::Protocol(format!(
                "taosAdapter at {} has no endpoint {path} (HTTP 404): is connection.url pointing at taosAdapter?",
                self.base
            ))),
            _ => Ok((status, text)),
        }
    }

    /// Runs one SQL statement (`POST /rest/sql[/<db>]`).
    pub async fn sql(&self, db: Option<&str>, sql: &str) -> Result<Rows, TdError> {
        let path = match db {
            Some(d) if !d.is_empty() => format!("/rest/sql/{d}"),
            _ => "/rest/sql".to_string(),
        };
        let (status, text) = self.post(&path, &[], sql.to_string()).await?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| server_error(status, &text))?;
        if v.get("code").and_then(|c| c.as_i64()) != Some(0) {
            return Err(server_error(status, &text));
        }
        let columns = v
            .get("column_meta")
            .and_then(|m| m.as_array())
            .map(|m| {
                m.iter()
                    .map(|c| {
                        (
                            c.get(0).and_then(|n| n.as_str()).unwrap_or("").to_string(),
                            c.get(1).and_then(|n| n.as_str()).unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let data = v
            .get("data")
            .and_then(|d| d.as_array())
            .map(|rows| {
                rows.iter()
                    .map(|r| r.as_array().cloned().unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Rows { columns, data })
    }

    /// One schemaless write of `body` (lines joined with `\n`) into `db`. `precision` is
    /// taosAdapter's string (`""` not configured, `ms`, `u`, `ns`); line protocol only.
    pub async fn schemaless(
        &self,
        protocol: Protocol,
        db: &str,
        precision: &str,
        body: String,
    ) -> Result<(), TdError> {
        let (status, text) = match protocol {
            Protocol::Line => {
                let mut q = vec![("db", db)];
                if !precision.is_empty() {
                    q.push(("precision", precision));
                }
                self.post("/influxdb/v1/write", &q, body).await?
            }
            Protocol::Telnet => {
                self.post(&format!("/opentsdb/v1/put/telnet/{db}"), &[], body)
                    .await?
            }
            Protocol::Json => {
                self.post(&format!("/opentsdb/v1/put/json/{db}"), &[], body)
                    .await?
            }
        };
        if (200..300).contains(&status) {
            // The OpenTSDB endpoints may answer 200 with a TDengine error code.
            if !text.trim().is_empty() {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                    if v.get("code")
                        .and_then(|c| c.as_i64())
                        .is_some_and(|c| c != 0)
                    {
                        return Err(server_error(status, &text));
                    }
                }
            }
            return Ok(());
        }
        Err(server_error(status, &text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_map_to_taosadapter() {
        let e = parse_url("jdbc:TAOS://127.0.0.1:6030").unwrap();
        assert_eq!(e.base, "http://127.0.0.1:6041");
        assert!(e.native_port_replaced);
        let e = parse_url("jdbc:TAOS-RS://td.example:7041/power?user=root&password=x").unwrap();
        assert_eq!(e.base, "http://td.example:7041");
        assert_eq!(e.database.as_deref(), Some("power"));
        assert!(!e.native_port_replaced);
        assert_eq!(
            parse_url("jdbc:TAOS-WS://").unwrap().base,
            "http://localhost:6041"
        );
        assert!(parse_url("jdbc:TAOSX://h").is_err());
        assert!(parse_url("jdbc:TAOS-RS://h:port").is_err());
    }

    #[test]
    fn errors_of_both_shapes() {
        match server_error(
            500,
            r#"{"code":"internal error","message":"[0x3004] the type is not the same like before:c"}"#,
        ) {
            TdError::Server { code, desc } => {
                assert_eq!(code, 0x3004);
                assert_eq!(desc, "the type is not the same like before:c");
            }
            other => panic!("{other:?}"),
        }
        match server_error(200, r#"{"code":9728,"desc":"syntax error near \"1\""}"#) {
            TdError::Server { code, .. } => assert_eq!(code, 9728),
            other => panic!("{other:?}"),
        }
    }
}
