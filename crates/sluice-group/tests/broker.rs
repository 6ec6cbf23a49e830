//! The member against a real broker (tansu, provisioned by scripts/broker.sh): two members
//! join one group with protocol type "connect", the leader assigns, a member leaves, the
//! other is rebalanced alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sluice_group::driver::{spawn, GroupConfig, GroupEvent};
use sluice_group::membership::MemberSettings;
use sluice_group::protocol::{self, Assignment, ConnectProtocol, WorkerMetadata};
use tokio::sync::mpsc::UnboundedReceiver;

struct Broker(Child, u16);
impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn broker() -> Broker {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(root.join("scripts/broker.sh"))
        .arg("path")
        .output()
        .expect("scripts/broker.sh runs");
    assert!(out.status.success());
    let bin = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args([
            "broker",
            "--listener-url",
            &format!("tcp://127.0.0.1:{port}"),
            "--advertised-listener-url",
            &format!("tcp://127.0.0.1:{port}"),
            "--storage-engine",
            &format!("memory://group-{port}/"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tansu starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "broker did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Broker(child, port)
}

fn metadata(url: &str) -> Vec<(String, Bytes)> {
    ConnectProtocol::Sessioned
        .advertised()
        .into_iter()
        .map(|p| {
            let m = WorkerMetadata {
                version: p.version(),
                url: url.to_string(),
                config_offset: 0,
                allocation: None,
            };
            (
                p.name().to_string(),
                Bytes::from(protocol::encode_metadata(&m)),
            )
        })
        .collect()
}

fn config(port: u16, group: &str) -> GroupConfig {
    GroupConfig {
        bootstrap: vec![format!("127.0.0.1:{port}")],
        client_id: "sluice-test".into(),
        settings: MemberSettings {
            group_id: group.into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 10_000,
            heartbeat_interval_ms: 500,
            protocol_type: "connect".into(),
        },
        security: Default::default(),
    }
}

/// Answers Lead events at once (each member gets an assignment naming it, with the member
/// count as its delay) and forwards assignments, like a herder would.
fn serve(mut rx: UnboundedReceiver<GroupEvent>) -> UnboundedReceiver<(i32, String, Assignment)> {
    let (tx, out) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            match ev {
                GroupEvent::Lead { generation, reply } => {
                    let mut out = Vec::new();
                    for (member, meta) in &generation.members {
                        let m = protocol::decode_metadata(meta).unwrap();
                        let mut a = Assignment::empty(2);
                        a.leader = generation.member_id.clone();
                        a.leader_url = "leader".into();
                        a.config_offset = m.config_offset;
                        a.assigned.connectors.insert(member.clone());
                        a.delay = generation.members.len() as i32;
                        out.push((member.clone(), Bytes::from(protocol::encode_assignment(&a))));
                    }
                    let _ = reply.send(out);
                }
                GroupEvent::Assigned {
                    generation,
                    member_id,
                    protocol,
                    assignment,
                } => {
                    assert_eq!(protocol, "sessioned");
                    let a = protocol::decode_assignment(&assignment).unwrap();
                    let _ = tx.send((generation, member_id, a));
                }
                GroupEvent::Lost { settled, .. } => {
                    let _ = settled.send(());
                }
                GroupEvent::Fatal(m) => panic!("{m}"),
                GroupEvent::Joining => {}
            }
        }
    });
    out
}

/// The next assignment whose member count (delay) is `members`.
async fn next_assignment(
    rx: &mut UnboundedReceiver<(i32, String, Assignment)>,
    members: i32,
) -> (i32, String, Assignment) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let a = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("an assignment in time")
            .expect("member alive");
        if a.2.delay == members {
            return a;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_join_assign_leave_rebalance() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let b = broker();
    let group = format!("group-test-{}", std::process::id());
    let (h1, rx1) = spawn(config(b.1, &group), metadata("http://w1/"));
    let mut rx1 = serve(rx1);
    let (g1, id1, a1) = next_assignment(&mut rx1, 1).await;
    assert!(a1.assigned.connectors.contains(&id1), "{a1:?}");

    let (h2, rx2) = spawn(config(b.1, &group), metadata("http://w2/"));
    let mut rx2 = serve(rx2);
    // Both end up in one generation of two members.
    let (g2, id2, a2) = next_assignment(&mut rx2, 2).await;
    let (g1b, _, a1b) = next_assignment(&mut rx1, 2).await;
    assert_eq!(g2, g1b);
    assert!(g2 > g1);
    assert_eq!((a2.delay, a1b.delay), (2, 2));
    assert_eq!(a2.leader, a1b.leader, "one leader");
    assert!(a2.assigned.connectors.contains(&id2));

    // The second member leaves at once; the first is rebalanced alone without waiting for a
    // session timeout.
    let left = Instant::now();
    h2.leave().await;
    let (g3, _, a3) = next_assignment(&mut rx1, 1).await;
    assert!(g3 > g2);
    assert_eq!(a3.delay, 1);
    assert!(
        left.elapsed() < Duration::from_secs(8),
        "rebalanced in {:?}, before the 10 s session timeout",
        left.elapsed()
    );
    h1.leave().await;
}
