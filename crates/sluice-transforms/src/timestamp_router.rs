//! `TimestampRouter`: rewrites the topic from `topic.format`, substituting `${topic}` and
//! `${timestamp}` (the record timestamp in `timestamp.format`, UTC).

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig};
use sluice_api::record::ConnectRecord;
use sluice_api::transform::Transform;
use sluice_api::{ConnectError, Result};

use crate::date_format::DateFormat;
use crate::util::{invalid_config, parse_config, record_to_string};

const TOPIC_FORMAT: &str = "topic.format";
const TIMESTAMP_FORMAT: &str = "timestamp.format";

pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(TOPIC_FORMAT, ConfigType::String)
                .default_value("${topic}-${timestamp}")
                .importance(Importance::High)
                .doc("Format string which can contain <code>${topic}</code> and <code>${timestamp}</code> as placeholders for the topic and timestamp, respectively."),
        )
        .define(
            ConfigKey::new(TIMESTAMP_FORMAT, ConfigType::String)
                .default_value("yyyyMMdd")
                .importance(Importance::High)
                .doc("Format string for the timestamp that is compatible with <code>java.text.SimpleDateFormat</code>."),
        )
}

#[derive(Debug)]
pub struct TimestampRouter {
    topic_format: String,
    timestamp_format: DateFormat,
}

pub fn new(raw: &RawConfig) -> Result<Box<dyn Transform>> {
    Ok(Box::new(TimestampRouter::new(raw)?))
}

impl TimestampRouter {
    pub fn new(raw: &RawConfig) -> Result<Self> {
        let c = parse_config(&config_def(), raw)?;
        let pattern = c.string(TIMESTAMP_FORMAT).unwrap_or_default();
        let timestamp_format = DateFormat::new(pattern)
            .map_err(|why| invalid_config(TIMESTAMP_FORMAT, pattern, &why))?;
        Ok(TimestampRouter {
            topic_format: c.string(TOPIC_FORMAT).unwrap_or_default().to_string(),
            timestamp_format,
        })
    }
}

impl Transform for TimestampRouter {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let Some(ts) = record.timestamp else {
            return Err(ConnectError::data(format!(
                "Timestamp missing on record: {}",
                record_to_string(&record)
            )));
        };
        let formatted = self.timestamp_format.format(ts);
        record.topic = self
            .topic_format
            .replace("${topic}", &record.topic)
            .replace("${timestamp}", &formatted)
            .into();
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use sluice_api::data::Value;

    fn check(config: &[(&str, &str)], timestamp: Option<i64>, expected: Expect) {
        let mut input = value_record(None, Value::Null);
        input.timestamp = timestamp;
        check_with(new, config, input, expected);
    }

    fn routed(topic: &str, ts: i64) -> Expect {
        let mut r = value_record(None, Value::Null);
        r.topic = topic.into();
        r.timestamp = Some(ts);
        Expect::Record(r)
    }

    const TS: i64 = 1_483_425_001_864; // 2017-01-03T06:30:01.864Z

    #[test]
    fn routes() {
        check(&[], Some(TS), routed("test-20170103", TS));
        check(
            &[
                ("topic.format", "${timestamp}_${topic}_${timestamp}"),
                ("timestamp.format", "yyyy-MM-dd'T'HH"),
            ],
            Some(TS),
            routed("2017-01-03T06_test_2017-01-03T06", TS),
        );
        check(
            &[("topic.format", "static")],
            Some(TS),
            routed("static", TS),
        );
        check(
            &[("timestamp.format", "yyyyMMddHHmmssSSS")],
            Some(0),
            routed("test-19700101000000000", 0),
        );
    }

    #[test]
    fn errors() {
        check(
            &[],
            None,
            Expect::DataErr("Timestamp missing on record: ConnectRecord{topic='test', kafkaPartition=0, key=null, keySchema=null, value=null, valueSchema=null, timestamp=null}"),
        );
        check(
            &[("timestamp.format", "yyyy-qq")],
            Some(TS),
            Expect::ConfigErr("Invalid value yyyy-qq for configuration timestamp.format: Illegal pattern character 'q'"),
        );
    }
}
