//! RabbitMQ on 127.0.0.1:5672 (guest/guest), reached over AMQP: unique durable queues and
//! exchanges per test, deleted on drop.

use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicPublishOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties, ExchangeKind};

use crate::harness::unique;

pub const HOST: &str = "127.0.0.1";
pub const PORT: u16 = 5672;

/// A connection to the shared RabbitMQ and the queues and exchanges this test made.
pub struct Rabbit {
    rt: tokio::runtime::Runtime,
    conn: Connection,
    channel: lapin::Channel,
    queues: Vec<String>,
    exchanges: Vec<String>,
}

impl Rabbit {
    /// Connects; panics (fails the test) if RabbitMQ does not answer.
    pub fn connect() -> Rabbit {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (conn, channel) = rt.block_on(async {
            let conn = Connection::connect(
                &format!("amqp://guest:guest@{HOST}:{PORT}/%2f"),
                ConnectionProperties::default(),
            )
            .await
            .unwrap_or_else(|e| {
                panic!("RabbitMQ at {HOST}:{PORT} is needed for this test and does not answer: {e} (start it as /work/.library/env/machines/rust-svc.md says)")
            });
            let channel = conn.create_channel().await.expect("AMQP channel");
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await
                .expect("confirm mode");
            (conn, channel)
        });
        Rabbit {
            rt,
            conn,
            channel,
            queues: Vec::new(),
            exchanges: Vec::new(),
        }
    }

    /// A new durable queue with a unique name.
    pub fn queue(&mut self, prefix: &str) -> String {
        let name = unique(prefix);
        self.rt
            .block_on(self.channel.queue_declare(
                &name,
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            ))
            .expect("declare queue");
        self.queues.push(name.clone());
        name
    }

    /// A new durable direct exchange bound to `queue` with `routing_key`.
    pub fn exchange_to(&mut self, prefix: &str, queue: &str, routing_key: &str) -> String {
        let name = unique(prefix);
        self.rt.block_on(async {
            self.channel
                .exchange_declare(
                    &name,
                    ExchangeKind::Direct,
                    ExchangeDeclareOptions {
                        durable: true,
                        ..ExchangeDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .expect("declare exchange");
            self.channel
                .queue_bind(
                    queue,
                    &name,
                    routing_key,
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .expect("bind queue");
        });
        self.exchanges.push(name.clone());
        name
    }

    /// Publishes to the default exchange (straight to `queue`), waiting for confirms.
    pub fn publish(&self, queue: &str, messages: &[(Vec<u8>, BasicProperties)]) {
        self.rt.block_on(async {
            let mut confirms = Vec::new();
            for (body, props) in messages {
                confirms.push(
                    self.channel
                        .basic_publish(
                            "",
                            queue,
                            BasicPublishOptions::default(),
                            body,
                            props.clone(),
                        )
                        .await
                        .expect("publish"),
                );
                if confirms.len() >= 1000 {
                    for c in confirms.drain(..) {
                        assert!(c.await.expect("confirm").is_ack());
                    }
                }
            }
            for c in confirms {
                assert!(c.await.expect("confirm").is_ack());
            }
        })
    }

    /// Messages ready in `queue` (not delivered to a consumer).
    pub fn ready(&self, queue: &str) -> u32 {
        self.rt
            .block_on(self.channel.queue_declare(
                queue,
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            ))
            .expect("passive declare")
            .message_count()
    }

    /// Takes (and acknowledges) messages from `queue` until `n` were read or `timeout` passes.
    pub fn take(&self, queue: &str, n: usize, timeout: Duration) -> Vec<lapin::message::Delivery> {
        self.rt.block_on(async {
            let channel = self.conn.create_channel().await.expect("channel");
            let mut consumer = channel
                .basic_consume(
                    queue,
                    "",
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await
                .expect("consume");
            let deadline = Instant::now() + timeout;
            let mut out = Vec::new();
            while out.len() < n && Instant::now() < deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, consumer.next()).await {
                    Ok(Some(Ok(d))) => {
                        d.ack(BasicAckOptions::default()).await.expect("ack");
                        out.push(d);
                    }
                    _ => break,
                }
            }
            let _ = channel.close(200, "done").await;
            out
        })
    }

    /// Takes every message ready now (basic.get until empty), acknowledging them.
    pub fn take_ready(&self, queue: &str) -> Vec<Vec<u8>> {
        self.rt.block_on(async {
            let mut out = Vec::new();
            while let Some(m) = self
                .channel
                .basic_get(queue, BasicGetOptions::default())
                .await
                .expect("basic.get")
            {
                m.delivery
                    .ack(BasicAckOptions::default())
                    .await
                    .expect("ack");
                out.push(m.delivery.data);
            }
            out
        })
    }
}

impl Drop for Rabbit {
    fn drop(&mut self) {
        let queues = std::mem::take(&mut self.queues);
        let exchanges = std::mem::take(&mut self.exchanges);
        self.rt.block_on(async {
            for q in queues {
                let _ = self
                    .channel
                    .queue_delete(&q, QueueDeleteOptions::default())
                    .await;
            }
            for e in exchanges {
                let _ = self
                    .channel
                    .exchange_delete(&e, ExchangeDeleteOptions::default())
                    .await;
            }
            let _ = self.conn.close(200, "test done").await;
        });
    }
}
