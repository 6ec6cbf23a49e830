//! The `listeners` worker key: `http://host:port` and `https://host:port` URIs, Kafka's default `http://:8083`.

/// One REST listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    pub scheme: String,
    /// Empty means every interface.
    pub host: String,
    pub port: u16,
}

impl Listener {
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }
    pub fn bind_addr(&self) -> String {
        let host = if self.host.is_empty() {
            "0.0.0.0"
        } else {
            &self.host
        };
        format!("{host}:{}", self.port)
    }
}

/// The advertised host and port (`rest.advertised.host.name`/`port`), else the listener's
/// host (the machine's name when it listens on every interface) and its bound port. The
/// worker id is `<host>:<port>`.
pub fn advertised(
    config: &sluice_api::config::Config,
    listener: &Listener,
    bound_port: u16,
) -> (String, u16) {
    use sluice_runtime::config::worker::{REST_ADVERTISED_HOST, REST_ADVERTISED_PORT};
    let host = config
        .string(REST_ADVERTISED_HOST)
        .map(str::to_string)
        .unwrap_or_else(|| {
            if listener.host.is_empty() || listener.host == "0.0.0.0" {
                hostname()
            } else {
                listener.host.clone()
            }
        });
    let port = config
        .int(REST_ADVERTISED_PORT)
        .map_or(bound_port, |p| p as u16);
    (host, port)
}

/// This machine's name, for a worker id when the listener binds every interface.
pub fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Parses `listeners`; errors name the value and what is allowed.
pub fn parse(list: &[String]) -> Result<Vec<Listener>, String> {
    let mut out = Vec::new();
    for raw in list {
        let invalid = |why: &str| format!("Invalid value {raw} for configuration listeners: {why}");
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or_else(|| invalid("a listener must look like http://host:port"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(invalid("the protocol must be http or https"));
        }
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => return Err(invalid("the port is missing")),
        };
        let port: u16 = port
            .parse()
            .map_err(|_| invalid("the port must be a number from 0 to 65535"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        out.push(Listener {
            scheme,
            host: host.to_string(),
            port,
        });
    }
    if out.is_empty() {
        return Err(
            "Invalid value for configuration listeners: at least one listener is required".into(),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_forms() {
        let l = parse(&["http://:8083".into(), "HTTP://127.0.0.1:9000/".into()]).unwrap();
        assert_eq!(l[0].bind_addr(), "0.0.0.0:8083");
        assert_eq!(l[1].bind_addr(), "127.0.0.1:9000");
        assert!(parse(&["ftp://x:1".into()])
            .unwrap_err()
            .contains("must be http or https"));
        assert!(parse(&["http://x".into()])
            .unwrap_err()
            .contains("port is missing"));
        assert!(parse(&["http://x:99999".into()])
            .unwrap_err()
            .contains("0 to 65535"));
    }
}
