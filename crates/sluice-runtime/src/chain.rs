//! The transformation chain of a connector: transforms in `transforms` order, each applied
//! only when its predicate (possibly negated) says so; a dropped record stops the chain.

use std::collections::HashMap;
use std::sync::Arc;

use sluice_api::config::{parse_list, with_prefix, RawConfig};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::{Predicate, Transform};
use sluice_api::ConnectError;

use crate::config::connector::{PREDICATES, TRANSFORMS};
use crate::plugins::Plugins;

struct Stage {
    alias: String,
    class: String,
    transform: Box<dyn Transform>,
    predicate: Option<Arc<dyn Predicate>>,
    negate: bool,
}

/// Which transform failed, for error reports.
#[derive(Debug)]
pub struct StageError {
    pub alias: String,
    pub class: String,
    pub error: ConnectError,
}

/// A connector's transforms.
#[derive(Default)]
pub struct TransformChain {
    stages: Vec<Stage>,
}

impl TransformChain {
    /// Builds the chain from a (validated) connector config.
    pub fn new(plugins: &Plugins, config: &RawConfig) -> Result<Self, ConnectError> {
        let mut predicates: HashMap<String, Arc<dyn Predicate>> = HashMap::new();
        for alias in parse_list(config.get(PREDICATES).map_or("", |s| s)) {
            let prefix = format!("predicates.{alias}.");
            let class = config.get(&format!("{prefix}type")).ok_or_else(|| {
                ConnectError::config(format!(
                    "Missing required configuration \"{prefix}type\" which has no default value."
                ))
            })?;
            let plugin = plugins.predicate(class).ok_or_else(|| {
                ConnectError::config(format!("Invalid value {class} for configuration {prefix}type: Class {class} could not be found."))
            })?;
            predicates.insert(
                alias.clone(),
                Arc::from((plugin.new)(&with_prefix(config, &prefix))?),
            );
        }
        let mut stages = Vec::new();
        for alias in parse_list(config.get(TRANSFORMS).map_or("", |s| s)) {
            let prefix = format!("transforms.{alias}.");
            let class = config.get(&format!("{prefix}type")).ok_or_else(|| {
                ConnectError::config(format!(
                    "Missing required configuration \"{prefix}type\" which has no default value."
                ))
            })?;
            let plugin = plugins.transform(class).ok_or_else(|| {
                ConnectError::config(format!("Invalid value {class} for configuration {prefix}type: Class {class} could not be found."))
            })?;
            let own = with_prefix(config, &prefix);
            let predicate = match own.get("predicate").map(|p| p.trim()).filter(|p| !p.is_empty()) {
                Some(p) => Some(predicates.get(p).cloned().ok_or_else(|| {
                    ConnectError::config(format!("Invalid value {p} for configuration {prefix}predicate: Predicate '{p}' is not defined in 'predicates'"))
                })?),
                None => None,
            };
            let negate = own
                .get("negate")
                .is_some_and(|n| n.trim().eq_ignore_ascii_case("true"));
            stages.push(Stage {
                alias,
                class: plugin.class.to_string(),
                transform: (plugin.new)(&own)?,
                predicate,
                negate,
            });
        }
        Ok(TransformChain { stages })
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Runs the chain; `Ok(None)` when a transform dropped the record.
    pub fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, StageError> {
        for stage in &self.stages {
            if let Some(p) = &stage.predicate {
                if p.test(&record) == stage.negate {
                    continue;
                }
            }
            match stage.transform.apply(record) {
                Ok(Some(r)) => record = r,
                Ok(None) => return Ok(None),
                Err(error) => {
                    return Err(StageError {
                        alias: stage.alias.clone(),
                        class: stage.class.clone(),
                        error,
                    })
                }
            }
        }
        Ok(Some(record))
    }
}
