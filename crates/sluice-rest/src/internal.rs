//! The client side of the internal endpoint: a follower that owns a connector sends the task
//! configs it computed to the leader (`POST /connectors/{name}/tasks`), signed with the
//! session key (KIP-507), as Kafka's `DistributedHerder.reconfigureConnector` does.

use std::time::Duration;

use sluice_api::config::RawConfig;
use sluice_runtime::herder::distributed::{LeaderClient, LeaderError};
use sluice_runtime::signature::{self, MacAlgorithm, SIGNATURE_ALGORITHM_HEADER, SIGNATURE_HEADER};

use crate::routes::encode_path_segment;

/// How long one attempt may take; the herder retries with backoff.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// [`LeaderClient`] over HTTP.
#[derive(Clone, Debug, Default)]
pub struct HttpLeaderClient {
    client: reqwest::Client,
}

impl HttpLeaderClient {
    pub fn new() -> Self {
        Self::default()
    }

    /// Over a given client: the worker's REST client, which speaks TLS with the
    /// `listeners.https.` settings when the cluster serves HTTPS (Kafka's `RestClient`). The
    /// request carries no `Authorization` header, as in Kafka: Basic authentication exempts
    /// it, and the leader checks its signature instead.
    pub fn with_client(client: reqwest::Client) -> Self {
        HttpLeaderClient { client }
    }
}

/// The request body: a JSON array of task-config maps (`List<Map<String, String>>`).
pub(crate) fn task_configs_body(configs: &[RawConfig]) -> Vec<u8> {
    serde_json::to_vec(configs).unwrap_or_else(|_| b"[]".to_vec())
}

#[async_trait::async_trait]
impl LeaderClient for HttpLeaderClient {
    async fn put_task_configs(
        &self,
        leader_url: &str,
        connector: &str,
        configs: &[RawConfig],
        signing: Option<(MacAlgorithm, &[u8])>,
    ) -> Result<(), LeaderError> {
        let body = task_configs_body(configs);
        let url = format!(
            "{}/connectors/{}/tasks",
            leader_url.trim_end_matches('/'),
            encode_path_segment(connector)
        );
        let mut req = self
            .client
            .post(&url)
            .timeout(REQUEST_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some((algorithm, key)) = signing {
            let (algorithm, sig) = signature::sign_request(algorithm, key, &body)?;
            req = req
                .header(SIGNATURE_ALGORITHM_HEADER, algorithm)
                .header(SIGNATURE_HEADER, sig);
        }
        let resp = req.body(body).send().await.map_err(|e| {
            LeaderError::Transport(format!("{url}: {}", crate::forward::error_chain(&e)))
        })?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|j| {
                j.get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            })
            .unwrap_or(text);
        Err(LeaderError::Status { status, message })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_a_json_array_of_string_maps() {
        let mut c = RawConfig::new();
        c.insert("task.class".into(), "T".into());
        c.insert("file".into(), "/tmp/中文".into());
        assert_eq!(
            String::from_utf8(task_configs_body(&[c, RawConfig::new()])).unwrap(),
            r#"[{"file":"/tmp/中文","task.class":"T"},{}]"#
        );
        assert_eq!(task_configs_body(&[]), b"[]");
    }
}
