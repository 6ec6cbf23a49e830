//! Shared fixtures for real services the connector tests run against. Each test gets its own
//! queue, exchange, topic or endpoint; a service that cannot be reached fails the test loudly.

pub mod http;
pub mod mosquitto;
pub mod rabbitmq;
