//! Distributed mode end to end (issue 4): several `sluice distributed` processes on one
//! machine with seed 000's connect-distributed.properties (VPC variant; the bootstrap address
//! is the test broker's), a real tansu broker, file connectors created over REST.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{append, free_port, unique, wait_for, Broker, Launch, Worker};

/// Kafka's shipped config/connect-distributed.properties with seed 000's VPC settings (the
/// console's access point replaced by the test broker), a short lost-work delay and a 1 s
/// heartbeat.
pub(crate) fn seed000_worker(bootstrap: &str, group: &str) -> String {
    format!(
        "# Kafka接入点，通过控制台获取
## 您在控制台获取的默认接入点
bootstrap.servers={bootstrap}

## 同一个集群中的connect使用相同的group.id
group.id={group}

key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true

## 用于存储各connectors相关的offset的Compact Topic
offset.storage.topic={group}-offsets
offset.storage.replication.factor=1

## 用于存储connector和task相关的配置的Compact Topic
config.storage.topic={group}-configs
config.storage.replication.factor=1

## 用户存储kafka connect状态信息的Compact Topic
status.storage.topic={group}-status
status.storage.replication.factor=1

offset.flush.interval.ms=1000
scheduled.rebalance.max.delay.ms={MAX_DELAY_MS}
# tansu completes a rebalance about 3 s after it starts, with whoever rejoined by then; with
# Kafka's default 3 s heartbeat a member can miss that window and be evicted.
heartbeat.interval.ms=1000
# The same for the sink tasks' consumer groups. A sink consumer of a stopped worker was seen
# to stay in its group until its session expired: with the consumer's default 45 s session,
# a restarted cluster's sink waited that long for its partitions.
consumer.heartbeat.interval.ms=1000
consumer.session.timeout.ms=6000
"
    )
}

const MAX_DELAY_MS: u64 = 5_000;
/// The session timeout of the kill -9 cluster.
const SESSION_TIMEOUT_MS: u64 = 6_000;

pub(crate) fn line(i: usize) -> String {
    format!("line {i:06} 分布式 hello\n")
}

pub(crate) struct Cluster {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) props: std::path::PathBuf,
    pub(crate) workers: Vec<Worker>,
    pub(crate) group: String,
    pub(crate) launch: Launch,
}

impl Cluster {
    pub(crate) fn start(broker: &Broker, n: usize) -> Cluster {
        Self::start_with(broker, n, Launch::default())
    }

    /// With the test-only connector plugins (`SLUICE_TEST_PLUGINS=1`).
    pub(crate) fn start_with_test_plugins(broker: &Broker, n: usize) -> Cluster {
        let launch = Launch {
            env: vec![("SLUICE_TEST_PLUGINS".into(), "1".into())],
            ..Launch::default()
        };
        Self::start_with(broker, n, launch)
    }

    pub(crate) fn start_with(broker: &Broker, n: usize, launch: Launch) -> Cluster {
        Self::start_with_extra(broker, n, launch, "")
    }

    /// With `extra` lines appended to the worker properties.
    pub(crate) fn start_with_extra(
        broker: &Broker,
        n: usize,
        launch: Launch,
        extra: &str,
    ) -> Cluster {
        crate::harness::remember_panics();
        let dir = tempfile::tempdir().unwrap();
        let group = unique("connect-cluster");
        let props = dir.path().join("connect-distributed.properties");
        let text = format!("{}{extra}", seed000_worker(&broker.bootstrap(), &group));
        std::fs::write(&props, text).unwrap();
        let mut c = Cluster {
            dir,
            props,
            workers: Vec::new(),
            group,
            launch,
        };
        for _ in 0..n {
            c.add();
        }
        for w in &c.workers {
            w.wait_ready();
        }
        c
    }

    fn add(&mut self) -> usize {
        let i = self.workers.len();
        let log = self.dir.path().join(format!("worker-{i}.log"));
        self.workers.push(Worker::distributed_with(
            &self.props,
            free_port(),
            &log,
            &self.launch,
        ));
        i
    }

    pub(crate) fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn alive(&self) -> impl Iterator<Item = &Worker> {
        self.workers.iter().filter(|w| w.rest_port != 0)
    }

    pub(crate) fn logs(&self) -> String {
        self.workers
            .iter()
            .enumerate()
            .map(|(i, w)| format!("==== worker {i} ({}) ====\n{}", w.worker_id(), w.log_text()))
            .collect()
    }

    /// The status every live worker reports, if they all agree and everything is RUNNING.
    fn agreed_running(&self, connector: &str) -> Option<serde_json::Value> {
        let mut seen: Option<serde_json::Value> = None;
        for w in self.alive() {
            let s = w.status(connector)?;
            if s["connector"]["state"] != "RUNNING" {
                return None;
            }
            let tasks = s["tasks"].as_array()?;
            if tasks.is_empty() || tasks.iter().any(|t| t["state"] != "RUNNING") {
                return None;
            }
            match &seen {
                None => seen = Some(s),
                Some(prev) if *prev == s => {}
                Some(_) => return None,
            }
        }
        seen
    }

    /// The connector's status once every live worker agrees it is RUNNING: statuses reach
    /// the other workers through the status topic, so right after a restart or a rebalance
    /// they may briefly differ.
    pub(crate) fn running(&self, connector: &str) -> serde_json::Value {
        let mut seen = None;
        wait_for(
            &format!("{connector} RUNNING, same status on every worker"),
            Duration::from_secs(60),
            || {
                seen = self.agreed_running(connector);
                seen.is_some()
            },
        );
        seen.unwrap_or_default()
    }

    pub(crate) fn worker_index(&self, worker_id: &str) -> Option<usize> {
        self.workers
            .iter()
            .position(|w| w.rest_port != 0 && w.worker_id() == worker_id)
    }
}

/// POSTs a connector, retrying while the cluster answers 409 for a rebalance (no leader yet)
/// or cannot reach a leader that just died. A retry that finds the connector already there,
/// after an attempt that failed in transit, counts as the create when the stored config is the
/// one sent (the first attempt wrote it before its answer was lost).
pub(crate) fn create(w: &Worker, body: &serde_json::Value) -> (u16, serde_json::Value) {
    create_as(w, body, true)
}

/// As [`create`]; with `new` false an "already exists" answer is returned as it is.
fn create_as(w: &Worker, body: &serde_json::Value, new: bool) -> (u16, serde_json::Value) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut retried = false;
    loop {
        match w.try_send("POST", "/connectors", Some(body)) {
            Some((409, b))
                if !b["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("already exists")
                    && Instant::now() < deadline => {}
            // The leader this worker knows just died: forwarding fails until the next
            // rebalance names a new one (Kafka answers the same 500).
            Some((500, b))
                if b["message"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("Error trying to forward REST request")
                    && Instant::now() < deadline => {}
            Some((409, b)) if retried && new => {
                let name = body["name"].as_str().unwrap_or("");
                match w.try_send("GET", &format!("/connectors/{name}"), None) {
                    Some((200, info))
                        if info["config"]["connector.class"]
                            == body["config"]["connector.class"]
                            && info["config"]["file"] == body["config"]["file"] =>
                    {
                        eprintln!("{name}: created by an earlier attempt whose answer was lost");
                        return (201, info);
                    }
                    _ => return (409, b),
                }
            }
            Some(r) => return r,
            None => assert!(Instant::now() < deadline, "POST /connectors not answered"),
        }
        retried = true;
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // SLUICE_IT_KEEP=DIR keeps every worker's whole log for a failed run.
            if let Some(keep) = std::env::var_os("SLUICE_IT_KEEP") {
                let to = Path::new(&keep).join(self.dir.path().file_name().unwrap_or_default());
                let _ = std::fs::create_dir_all(&to);
                for (i, w) in self.workers.iter().enumerate() {
                    let _ = std::fs::write(to.join(format!("worker-{i}.log")), w.log_text());
                }
                eprintln!("worker logs kept in {}", to.display());
            }
            for (i, w) in self.workers.iter().enumerate() {
                let text = w.log_text();
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(150)..];
                eprintln!(
                    "==== worker {i} ({}) last lines ====\n{}",
                    w.worker_id(),
                    tail.join("\n")
                );
            }
            if let Some(msg) = crate::harness::panic_message() {
                eprintln!("==== the test failed (repeated below the logs) ====\n{msg}");
            }
        }
    }
}

pub(crate) fn source_config(name: &str, file: &Path, topic: &str) -> serde_json::Value {
    json!({"name": name, "config": {
        "connector.class": "FileStreamSource",
        "tasks.max": "1",
        "file": file.display().to_string(),
        "topic": topic,
    }})
}

pub(crate) fn sink_config(name: &str, file: &Path, topic: &str) -> serde_json::Value {
    json!({"name": name, "config": {
        "connector.class": "FileStreamSink",
        "tasks.max": "1",
        "file": file.display().to_string(),
        "topics": topic,
    }})
}

/// Writes `lines` lines to `source.txt`, then creates `src` (file → a new topic) through worker
/// 0 and `snk` (topic → `sink.txt`) through worker 1; returns the topic and both paths.
fn source_and_sink(
    c: &Cluster,
    topic_prefix: &str,
    lines: usize,
) -> (String, std::path::PathBuf, std::path::PathBuf) {
    let topic = unique(topic_prefix);
    let source = c.path("source.txt");
    let sink = c.path("sink.txt");
    std::fs::write(&source, (0..lines).map(line).collect::<String>()).unwrap();
    assert_eq!(
        create(&c.workers[0], &source_config("src", &source, &topic)).0,
        201
    );
    assert_eq!(
        create(&c.workers[1], &sink_config("snk", &sink, &topic)).0,
        201
    );
    (topic, source, sink)
}

/// Every line of `0..n` appears in `sink` (at least once).
/// Each of the first `n` lines is in the sink, as a line or at the end of one: a worker killed
/// during a write(2) leaves a torn line, and the sink task's next owner appends to it (the
/// record was not committed and is written again in full, as with Kafka's FileStreamSink).
fn all_lines_in(sink: &Path, n: usize) -> bool {
    let text = std::fs::read_to_string(sink).unwrap_or_default();
    let got: std::collections::HashSet<&str> = text.lines().collect();
    (0..n).all(|i| {
        let want = line(i);
        let want = want.trim_end();
        got.contains(want) || got.iter().any(|l| l.ends_with(want))
    })
}

/// Which worker runs what, from the (agreed) statuses.
fn placement(c: &Cluster, connectors: &[&str]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for name in connectors {
        if let Some(s) = c.agreed_running(name) {
            out.insert(
                name.to_string(),
                s["connector"]["worker_id"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            );
            for t in s["tasks"].as_array().unwrap() {
                out.insert(
                    format!("{name}-{}", t["id"]),
                    t["worker_id"].as_str().unwrap_or("").to_string(),
                );
            }
        }
    }
    out
}

/// The placement once every live worker agrees on every named connector and its one task
/// (statuses travel through the status topic, so a worker may briefly lag behind).
fn settled_placement(c: &Cluster, connectors: &[&str]) -> BTreeMap<String, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let p = placement(c, connectors);
        if p.len() == 2 * connectors.len() {
            return p;
        }
        if Instant::now() > deadline {
            let seen: Vec<String> = c
                .alive()
                .flat_map(|w| {
                    connectors
                        .iter()
                        .map(move |n| format!("{} sees {n}: {:?}", w.worker_id(), w.status(n)))
                })
                .collect();
            panic!(
                "timed out after 60s waiting for every live worker to agree on where the work runs:\n{}",
                seen.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn task_starts(c: &Cluster, connector: &str) -> usize {
    let needle = format!("task={connector}-0");
    c.logs()
        .lines()
        .filter(|l| l.contains("task finished initialization and start") && l.contains(&needle))
        .count()
}

/// The generation of the last assignment in a worker's log text, if its last group event is
/// that assignment (no JoinGroup or SyncGroup under way since).
fn settled_generation_in(log: &str) -> Option<u64> {
    let last = log
        .lines()
        .rev()
        .find(|l| l.contains("sluice_group::") || l.contains("Received an assignment."))?;
    if !last.contains("Received an assignment.") {
        return None;
    }
    last_generation(last, "Received an assignment.")
}

/// Every live worker has the same generation's assignment and nothing under way.
fn group_settled(c: &Cluster) -> bool {
    let gens: Vec<Option<u64>> = c
        .alive()
        .map(|w| settled_generation_in(&w.log_text()))
        .collect();
    gens.first()
        .is_some_and(|g| g.is_some() && gens.iter().all(|x| x == g))
}

#[test]
fn three_workers_spread_survive_kill9_grow_and_hand_over_on_sigterm() {
    let broker = Broker::start();
    // The issue's kill -9 target is the lost-work delay plus 10 s. A dead worker is noticed
    // only when its session times out, so with Kafka's default 10 s session timeout the
    // detection alone would use all of those 10 s: this cluster runs with the smallest
    // session timeout a Kafka broker accepts by default (group.min.session.timeout.ms=6000).
    let mut c = Cluster::start_with_extra(
        &broker,
        3,
        Launch::default(),
        &format!("session.timeout.ms={SESSION_TIMEOUT_MS}\n"),
    );
    let topic = unique("dist-topic");
    let source = c.path("source.txt");
    let sink = c.path("sink.txt");
    std::fs::write(&source, (0..200).map(line).collect::<String>()).unwrap();

    // Created over REST on different workers: followers forward to the leader.
    let (code, body) = create(&c.workers[1], &source_config("src", &source, &topic));
    assert_eq!(code, 201, "{body}\n{}", c.logs());
    assert_eq!(body["name"], "src");
    let (code, body) = create(&c.workers[2], &sink_config("snk", &sink, &topic));
    assert_eq!(code, 201, "{body}\n{}", c.logs());
    let (code, body) = create_as(&c.workers[0], &sink_config("snk", &sink, &topic), false);
    assert_eq!(code, 409, "a second create conflicts: {body}");
    assert_eq!(body["message"], "Connector snk already exists");

    wait_for(
        "src and snk RUNNING, same status on every worker",
        Duration::from_secs(90),
        || c.agreed_running("src").is_some() && c.agreed_running("snk").is_some(),
    );
    // A generation may form before every worker joined; the next rebalances spread the work.
    wait_for(
        "the work spread over the workers",
        Duration::from_secs(60),
        || {
            let p = placement(&c, &["src", "snk"]);
            p.len() == 4 && p.values().collect::<std::collections::BTreeSet<_>>().len() >= 2
        },
    );
    let before = settled_placement(&c, &["src", "snk"]);
    eprintln!("placement after create: {before:?}");
    wait_for(
        "the first 200 lines in the sink",
        Duration::from_secs(90),
        || all_lines_in(&sink, 200),
    );

    // kill -9 the worker running the source task, mid-stream, once no rebalance is under way:
    // tansu 0.6.0 was seen to keep a member killed while its JoinGroup was held (survivors'
    // heartbeats answered OK for 120 s, no rebalance), which Kafka's coordinator expires
    // after the session timeout. Killing a worker in a stable group is what this test
    // measures.
    wait_for(
        "every worker's last group event to be the same generation's assignment",
        Duration::from_secs(60),
        || group_settled(&c),
    );
    let victim_id = before["src-0"].clone();
    let victim = c.worker_index(&victim_id).expect("victim is a worker");
    append(&source, &(200..400).map(line).collect::<String>());
    c.workers[victim].kill9();
    c.workers[victim].rest_port = 0;
    let killed = Instant::now();
    append(&source, &(400..600).map(line).collect::<String>());
    // Timing goals are reported, not asserted (they belong to benchmarks): the test checks
    // that the work moves, with a deadline far above the target.
    let target = Duration::from_millis(MAX_DELAY_MS) + Duration::from_secs(10);
    wait_for(
        "the killed worker's work running on the survivors",
        Duration::from_secs(120),
        || {
            let p = placement(&c, &["src", "snk"]);
            p.len() == before.len() && p.values().all(|w| *w != victim_id)
        },
    );
    let moved_after = killed.elapsed();
    eprintln!(
        "work of the kill -9'd worker ran elsewhere after {moved_after:?} (session timeout {SESSION_TIMEOUT_MS} ms + delay {MAX_DELAY_MS} ms; issue target {target:?}: {})",
        if moved_after <= target { "met" } else { "NOT met" }
    );
    wait_for(
        "every line in the sink after kill -9",
        Duration::from_secs(90),
        || all_lines_in(&sink, 600),
    );

    // A second connector does not restart any task of the first.
    let starts_src = task_starts(&c, "src");
    let starts_snk = task_starts(&c, "snk");
    assert!(
        starts_src >= 1 && starts_snk >= 1,
        "task starts are visible in the worker logs"
    );
    let p_before = settled_placement(&c, &["src", "snk"]);
    let source2 = c.path("source2.txt");
    std::fs::write(&source2, "second\n").unwrap();
    let (code, body) = create(
        c.alive().next().unwrap(),
        &source_config("src2", &source2, &unique("dist-topic2")),
    );
    assert_eq!(code, 201, "{body}");
    wait_for("src2 RUNNING", Duration::from_secs(60), || {
        c.agreed_running("src2").is_some()
    });
    assert_eq!(
        settled_placement(&c, &["src", "snk"]),
        p_before,
        "nothing of the first connectors moved"
    );
    assert_eq!(
        task_starts(&c, "src"),
        starts_src,
        "src's task was not restarted"
    );
    assert_eq!(
        task_starts(&c, "snk"),
        starts_snk,
        "snk's task was not restarted"
    );

    // A fourth worker joins and takes a fair share: 6 items over 3 workers, 2 each.
    let fourth = c.add();
    c.workers[fourth].wait_ready();
    let fourth_id = c.workers[fourth].worker_id();
    wait_for(
        "the new worker to run a fair share",
        Duration::from_secs(60),
        || {
            let p = placement(&c, &["src", "snk", "src2"]);
            p.len() == 6 && p.values().filter(|w| **w == fourth_id).count() == 2
        },
    );
    eprintln!(
        "placement with a fourth worker: {:?}",
        settled_placement(&c, &["src", "snk", "src2"])
    );

    // SIGTERM: the worker leaves the group at once; its work moves after the lost-work delay,
    // not after a session timeout.
    let p = settled_placement(&c, &["src", "snk", "src2"]);
    let leaving_id = p["src-0"].clone();
    let leaving = c.worker_index(&leaving_id).unwrap();
    // Rebalances the survivors saw (heartbeats answered REBALANCE_IN_PROGRESS, or a new leader
    // taking over).
    let rebalances = |c: &Cluster| -> usize {
        c.workers
            .iter()
            .enumerate()
            .filter(|(i, w)| *i != leaving && w.rest_port != 0)
            .map(|(_, w)| {
                let t = w.log_text();
                t.matches("The group is rebalancing; rejoining.").count()
                    + t.matches("Joined the group as leader.").count()
            })
            .sum()
    };
    let before_rebalances = rebalances(&c);
    let stopped = Instant::now();
    let exit = c.workers[leaving].terminate();
    assert!(exit.success(), "clean exit: {exit:?}");
    c.workers[leaving].rest_port = 0;
    wait_for(
        "the survivors to rebalance",
        Duration::from_secs(30),
        || rebalances(&c) > before_rebalances,
    );
    let rebalanced = stopped.elapsed();
    eprintln!(
        "SIGTERM: the survivors rebalanced {rebalanced:?} after the signal (session timeout {SESSION_TIMEOUT_MS} ms)"
    );
    assert!(
        rebalanced < Duration::from_millis(SESSION_TIMEOUT_MS),
        "the group rebalanced in {rebalanced:?}, not before the {SESSION_TIMEOUT_MS} ms session timeout could expire: the worker did not leave the group"
    );
    append(&source, &(600..700).map(line).collect::<String>());
    wait_for(
        "the stopped worker's work elsewhere",
        Duration::from_secs(120),
        || {
            let p = placement(&c, &["src", "snk", "src2"]);
            p.len() == 6 && p.values().all(|w| *w != leaving_id)
        },
    );
    let handover = stopped.elapsed();
    eprintln!("SIGTERM handover took {handover:?} (lost-work delay {MAX_DELAY_MS} ms applies to any departure, as in Kafka)");
    // On tansu 0.6 the departed member stays in the JoinGroup member list until its session
    // expires, even after a successful LeaveGroup, so the handover is bounded by that there.
    // Reported, not asserted: timing goals belong to benchmarks.
    eprintln!(
        "SIGTERM handover vs issue target (delay + 10 s = {target:?}): {}",
        if handover <= target { "met" } else { "NOT met" }
    );
    assert!(
        c.workers[leaving].log_text().contains("Left the group."),
        "the worker left the group"
    );
    wait_for(
        "every line in the sink after SIGTERM",
        Duration::from_secs(60),
        || all_lines_in(&sink, 700),
    );
}

#[test]
fn whole_cluster_restart_resumes_from_committed_offsets() {
    let broker = Broker::start();
    let mut c = Cluster::start(&broker, 3);
    let (_topic, source, sink) = source_and_sink(&c, "restart-topic", 300);
    wait_for("all 300 lines in the sink", Duration::from_secs(90), || {
        all_lines_in(&sink, 300)
    });
    // Stop the whole cluster gracefully (offsets committed), then write more.
    for w in c.workers.iter_mut() {
        assert!(w.terminate().success());
        w.rest_port = 0;
    }
    append(&source, &(300..400).map(line).collect::<String>());
    for _ in 0..3 {
        c.add();
    }
    for w in c.alive() {
        w.wait_ready();
    }
    wait_for(
        "connectors back after the restart",
        Duration::from_secs(60),
        || {
            c.alive().all(|w| {
                w.get("/connectors")
                    .is_some_and(|(_, b)| b.as_array().is_some_and(|a| a.len() == 2))
            })
        },
    );
    wait_for("all 400 lines in the sink", Duration::from_secs(90), || {
        all_lines_in(&sink, 400)
    });
    let text = std::fs::read_to_string(&sink).unwrap();
    let repeated = (0..300)
        .filter(|i| text.lines().filter(|l| *l == line(*i).trim_end()).count() > 1)
        .count();
    assert_eq!(
        repeated,
        0,
        "the source resumed from its committed offset, not from the start\n{}",
        c.logs()
    );
    let info = c.workers[3].get("/connectors/src").unwrap().1;
    assert_eq!(
        info["config"]["file"],
        source.display().to_string(),
        "no config lost"
    );
}

/// Every live worker reports `state` for the connector and every task (with `tasks` tasks).
fn agreed_state(c: &Cluster, connector: &str, state: &str, tasks: usize) -> bool {
    c.alive().all(|w| {
        w.status(connector).is_some_and(|s| {
            s["connector"]["state"] == state
                && s["tasks"]
                    .as_array()
                    .is_some_and(|t| t.len() == tasks && t.iter().all(|t| t["state"] == state))
        })
    })
}

/// Pause, resume, stop and PATCH config over REST in a cluster: sent to any worker (stop and
/// PATCH are forwarded to the leader; stop writes the empty task list), seen the same on every
/// worker, and a connector resumed from STOPPED gets its tasks back and carries on from its
/// offsets.
#[test]
fn pause_resume_stop_and_patch_in_a_cluster() {
    let broker = Broker::start();
    let c = Cluster::start(&broker, 2);
    let (topic, source, sink) = source_and_sink(&c, "pause-topic", 50);
    wait_for("src and snk RUNNING", Duration::from_secs(90), || {
        c.agreed_running("src").is_some() && c.agreed_running("snk").is_some()
    });
    wait_for("the first 50 lines", Duration::from_secs(60), || {
        all_lines_in(&sink, 50)
    });

    // Unknown connectors answer 404 with Kafka's message.
    for verb in ["pause", "resume", "stop"] {
        let (code, body) = c.workers[1]
            .try_send("PUT", &format!("/connectors/nope/{verb}"), None)
            .unwrap();
        assert_eq!(code, 404, "{verb}: {body}");
        assert_eq!(body["message"], "Unknown connector nope", "{verb}");
    }

    // Pause through each worker in turn: 202, then PAUSED everywhere.
    for w in [0, 1] {
        let (code, body) = c.workers[w]
            .try_send("PUT", "/connectors/src/pause", None)
            .unwrap();
        assert_eq!(code, 202, "{body}");
        wait_for(
            "src PAUSED on every worker",
            Duration::from_secs(60),
            || agreed_state(&c, "src", "PAUSED", 1),
        );
        let (code, _) = c.workers[1 - w]
            .try_send("PUT", "/connectors/src/resume", None)
            .unwrap();
        assert_eq!(code, 202);
        wait_for("src RUNNING again", Duration::from_secs(60), || {
            agreed_state(&c, "src", "RUNNING", 1)
        });
    }
    append(&source, &(50..100).map(line).collect::<String>());
    wait_for(
        "lines written after the resume",
        Duration::from_secs(60),
        || all_lines_in(&sink, 100),
    );

    // Stop through a worker that may not lead: forwarded, 204, STOPPED with no tasks.
    let (code, body) = c.workers[1]
        .try_send("PUT", "/connectors/src/stop", None)
        .unwrap();
    assert_eq!(code, 204, "{body}");
    wait_for(
        "src STOPPED with no tasks everywhere",
        Duration::from_secs(60),
        || agreed_state(&c, "src", "STOPPED", 0),
    );
    for w in c.alive() {
        let (code, tasks) = w.get("/connectors/src/tasks").unwrap();
        assert_eq!(
            (code, tasks),
            (200, json!([])),
            "a stopped connector has no tasks"
        );
    }
    append(&source, &(100..150).map(line).collect::<String>());

    // Resume: task configs are generated again and the task carries on from its offsets.
    let (code, _) = c.workers[0]
        .try_send("PUT", "/connectors/src/resume", None)
        .unwrap();
    assert_eq!(code, 202);
    wait_for(
        "src RUNNING with its task again",
        Duration::from_secs(90),
        || agreed_state(&c, "src", "RUNNING", 1),
    );
    wait_for(
        "lines written while stopped",
        Duration::from_secs(60),
        || all_lines_in(&sink, 150),
    );
    let text = std::fs::read_to_string(&sink).unwrap();
    let repeated = (0..150)
        .filter(|i| text.lines().filter(|l| *l == line(*i).trim_end()).count() > 1)
        .count();
    assert_eq!(repeated, 0, "the task resumed from its committed offset");

    // KIP-875 offsets: readable from any worker in any state; changed only when STOPPED,
    // through the leader.
    let file = source.display().to_string();
    let expected_position = std::fs::metadata(&source).unwrap().len();
    wait_for(
        "src's committed offset on every worker",
        Duration::from_secs(30),
        || {
            c.alive().all(|w| {
            w.get("/connectors/src/offsets").is_some_and(|(_, b)| {
                b == json!({"offsets": [{"partition": {"filename": file}, "offset": {"position": expected_position}}]})
            })
        })
        },
    );
    let (code, b) = c.workers[0].get("/connectors/snk/offsets").unwrap();
    assert_eq!(code, 200, "{b}");
    assert_eq!(
        b["offsets"][0]["partition"],
        json!({"kafka_topic": topic, "kafka_partition": 0}),
        "{b}"
    );
    let (code, body) = c.workers[1]
        .try_send("DELETE", "/connectors/src/offsets", None)
        .unwrap();
    assert_eq!(code, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("Connectors must be in the STOPPED state"),
        "{body}"
    );
    assert_eq!(
        c.workers[0]
            .try_send("PUT", "/connectors/src/stop", None)
            .unwrap()
            .0,
        204
    );
    wait_for("src STOPPED again", Duration::from_secs(60), || {
        agreed_state(&c, "src", "STOPPED", 0)
    });
    let (code, body) = c.workers[1]
        .try_send(
            "PATCH",
            "/connectors/src/offsets",
            Some(
                &json!({"offsets": [{"partition": {"filename": file}, "offset": {"position": 0}}]}),
            ),
        )
        .unwrap();
    assert_eq!(code, 200, "{body}");
    wait_for(
        "the altered offset on every worker",
        Duration::from_secs(30),
        || {
            c.alive().all(|w| {
                w.get("/connectors/src/offsets")
                    .is_some_and(|(_, b)| b["offsets"][0]["offset"] == json!({"position": 0}))
            })
        },
    );
    assert_eq!(
        c.workers[0]
            .try_send("PUT", "/connectors/src/resume", None)
            .unwrap()
            .0,
        202
    );
    wait_for(
        "the file read again from position 0",
        Duration::from_secs(90),
        || {
            let text = std::fs::read_to_string(&sink).unwrap_or_default();
            (0..150).all(|i| text.lines().filter(|l| *l == line(i).trim_end()).count() >= 2)
        },
    );

    // PATCH through either worker: merged on the leader, seen by every worker; null removes.
    let (code, body) = c.workers[1]
        .try_send(
            "PATCH",
            "/connectors/src/config",
            Some(&json!({"batch.size": "50"})),
        )
        .unwrap();
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["config"]["batch.size"], "50");
    assert_eq!(body["config"]["topic"], topic.as_str(), "the rest is kept");
    wait_for(
        "the patched config on every worker",
        Duration::from_secs(30),
        || {
            c.alive().all(|w| {
                w.get("/connectors/src/config")
                    .is_some_and(|(_, b)| b["batch.size"] == "50")
            })
        },
    );
    let (code, body) = c.workers[0]
        .try_send(
            "PATCH",
            "/connectors/src/config",
            Some(&json!({"batch.size": null})),
        )
        .unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body["config"].get("batch.size").is_none(), "{body}");
    let (code, body) = c.workers[1]
        .try_send("PATCH", "/connectors/nope/config", Some(&json!({"a": "b"})))
        .unwrap();
    assert_eq!(
        (code, &body["message"]),
        (404, &json!("Connector nope not found"))
    );
    wait_for(
        "src RUNNING after the patches",
        Duration::from_secs(90),
        || agreed_state(&c, "src", "RUNNING", 1),
    );
}

pub(crate) fn count_in_logs(c: &Cluster, needle: &str) -> usize {
    c.logs().lines().filter(|l| l.contains(needle)).count()
}

/// Restarts over REST in a cluster (KIP-745): the leader writes the restart request to the
/// config topic and answers with the plan; the workers restart what they run of it. A task
/// restart sent to a worker that does not run the task is forwarded to the one that does.
#[test]
fn restarts_in_a_cluster() {
    let broker = Broker::start();
    let c = Cluster::start(&broker, 2);
    let (topic, source, sink) = source_and_sink(&c, "restart-req-topic", 50);
    // A sink whose file cannot be opened: its task fails at start.
    let bad_file = c.path("no-such-dir").join("out.txt");
    assert_eq!(
        create(&c.workers[1], &sink_config("bad", &bad_file, &topic)).0,
        201
    );
    wait_for("src and snk RUNNING", Duration::from_secs(90), || {
        c.agreed_running("src").is_some() && c.agreed_running("snk").is_some()
    });
    wait_for("bad's task FAILED", Duration::from_secs(60), || {
        c.alive().all(|w| {
            w.status("bad").is_some_and(|s| {
                s["connector"]["state"] == "RUNNING" && s["tasks"][0]["state"] == "FAILED"
            })
        })
    });
    wait_for("the first 50 lines", Duration::from_secs(60), || {
        all_lines_in(&sink, 50)
    });

    // 404s with Kafka's messages.
    let (code, body) = c.workers[1]
        .try_send("POST", "/connectors/nope/restart", None)
        .unwrap();
    assert_eq!(
        (code, &body["message"]),
        (404, &json!("Connector nope not found"))
    );
    let (code, body) = c.workers[1]
        .try_send("POST", "/connectors/nope/restart?includeTasks=true", None)
        .unwrap();
    assert_eq!(
        (code, &body["message"]),
        (404, &json!("Unknown connector: nope"))
    );
    let (code, body) = c.workers[1]
        .try_send("POST", "/connectors/src/tasks/5/restart", None)
        .unwrap();
    assert_eq!(
        (code, &body["message"]),
        (404, &json!("Task src-5 not found"))
    );

    // onlyFailed: the plan shows only the failed task RESTARTING, and only it restarts.
    let task_restarts = count_in_logs(&c, "Restarting the task, as requested.");
    let conn_restarts = count_in_logs(&c, "Restarting the connector, as requested.");
    for (n, w) in [0, 1].into_iter().enumerate() {
        wait_for("bad's task FAILED", Duration::from_secs(60), || {
            c.alive().all(|w| {
                w.status("bad")
                    .is_some_and(|s| s["tasks"][0]["state"] == "FAILED")
            })
        });
        let (code, plan) = c.workers[w]
            .try_send(
                "POST",
                "/connectors/bad/restart?includeTasks=true&onlyFailed=true",
                None,
            )
            .unwrap();
        assert_eq!(code, 202, "{plan}");
        assert_eq!(plan["connector"]["state"], "RUNNING", "{plan}");
        assert_eq!(plan["tasks"][0]["state"], "RESTARTING", "{plan}");
        wait_for("bad-0 restarted", Duration::from_secs(60), || {
            count_in_logs(&c, "Restarting the task, as requested.") == task_restarts + n + 1
        });
    }
    assert_eq!(
        count_in_logs(&c, "Restarting the connector, as requested."),
        conn_restarts,
        "onlyFailed left the running connector alone"
    );

    // Legacy form: 204, the connector instance restarts.
    let (code, _) = c.workers[1]
        .try_send("POST", "/connectors/src/restart", None)
        .unwrap();
    assert_eq!(code, 204);
    wait_for("src's connector restarted", Duration::from_secs(60), || {
        count_in_logs(&c, "Restarting the connector, as requested.") == conn_restarts + 1
    });

    // A task restart sent to the worker that does not run the task is forwarded.
    let owner = c.running("src")["tasks"][0]["worker_id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = c.worker_index(&owner).map(|i| 1 - i).unwrap();
    let starts = task_starts(&c, "src");
    let (code, body) = c.workers[other]
        .try_send("POST", "/connectors/src/tasks/0/restart", None)
        .unwrap();
    assert_eq!(code, 204, "{body}");
    wait_for("src-0 started again", Duration::from_secs(60), || {
        task_starts(&c, "src") == starts + 1
    });
    assert!(
        c.workers[c.worker_index(&owner).unwrap()]
            .log_text()
            .contains("Restarting the task, as requested."),
        "the owner restarted it"
    );
    wait_for(
        "src RUNNING after the restarts",
        Duration::from_secs(60),
        || c.agreed_running("src").is_some(),
    );

    // Active topics (KIP-558) come from the status topic: every worker says the same, and a
    // reset sent to any worker clears them everywhere until the topic is used again.
    let topics_of = |w: &crate::harness::Worker, name: &str| {
        w.get(&format!("/connectors/{name}/topics"))
            .map(|(_, b)| b[name]["topics"].clone())
    };
    wait_for(
        "src's and snk's topic on every worker",
        Duration::from_secs(30),
        || {
            c.alive().all(|w| {
                topics_of(w, "src") == Some(json!([topic]))
                    && topics_of(w, "snk") == Some(json!([topic]))
            })
        },
    );
    let (code, _) = c.workers[1]
        .try_send("PUT", "/connectors/src/topics/reset", None)
        .unwrap();
    assert_eq!(code, 202);
    wait_for(
        "src's topics reset on every worker",
        Duration::from_secs(30),
        || c.alive().all(|w| topics_of(w, "src") == Some(json!([]))),
    );
    assert!(
        c.alive()
            .all(|w| topics_of(w, "snk") == Some(json!([topic]))),
        "only src was reset"
    );
    append(&source, &(50..100).map(line).collect::<String>());
    wait_for(
        "src's topic back once used again",
        Duration::from_secs(60),
        || {
            c.alive()
                .all(|w| topics_of(w, "src") == Some(json!([topic])))
        },
    );
    wait_for("lines after the restarts", Duration::from_secs(60), || {
        all_lines_in(&sink, 100)
    });
    let text = std::fs::read_to_string(&sink).unwrap();
    let repeated = (0..100)
        .filter(|i| text.lines().filter(|l| *l == line(*i).trim_end()).count() > 1)
        .count();
    assert_eq!(
        repeated, 0,
        "the restarted task resumed from its committed offset"
    );
}

// --- KIP-507 and connector-owned task configs ---------------------------------------------

const SIGNATURE_HEADER: &str = "X-Connect-Authorization";
const ALGORITHM_HEADER: &str = "X-Connect-Request-Signature-Algorithm";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `base64(HMAC(key, body))` computed here with OpenSSL, independently of the worker's code.
fn hmac_b64(digest: openssl::hash::MessageDigest, key: &[u8], body: &[u8]) -> String {
    let pkey = openssl::pkey::PKey::hmac(key).unwrap();
    let mut signer = openssl::sign::Signer::new(digest, &pkey).unwrap();
    signer.update(body).unwrap();
    openssl::base64::encode_block(&signer.sign_to_vec().unwrap())
}

/// The config topic's records as (key, value), read from the beginning until `done` holds.
fn config_records(
    broker: &Broker,
    c: &Cluster,
    what: &str,
    done: impl Fn(&[(String, Option<Vec<u8>>)]) -> bool,
) -> Vec<(String, Option<Vec<u8>>)> {
    let pairs = |recs: &[crate::harness::Consumed]| -> Vec<(String, Option<Vec<u8>>)> {
        recs.iter()
            .map(|r| {
                (
                    String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).into_owned(),
                    r.value.clone(),
                )
            })
            .collect()
    };
    let topic = format!("{}-configs", c.group);
    let recs =
        crate::harness::consume_until(&broker.bootstrap(), &topic, Duration::from_secs(60), |r| {
            done(&pairs(r))
        });
    let out = pairs(&recs);
    assert!(done(&out), "timed out waiting for {what} on {topic}");
    out
}

fn last_value<'a>(recs: &'a [(String, Option<Vec<u8>>)], key: &str) -> Option<&'a [u8]> {
    recs.iter()
        .rev()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.as_deref())
}

/// KIP-507 in a cluster: the leader writes a `session-key` record in Kafka's exact format; the
/// internal endpoint `POST /connectors/{name}/tasks` refuses unsigned (400), wrongly signed
/// (403) and not permitted (400) requests on every worker with Kafka's messages, and takes a
/// request signed with the key read off the config topic on every worker (a follower checks
/// it and forwards it to the leader): the task configs land on the config topic and every
/// worker serves and runs them.
#[test]
fn session_key_and_signed_task_configs() {
    let broker = Broker::start();
    let c = Cluster::start_with_test_plugins(&broker, 2);
    let before = now_ms();
    let recs = config_records(&broker, &c, "a session key", |r| {
        last_value(r, "session-key").is_some()
    });
    let text = String::from_utf8(last_value(&recs, "session-key").unwrap().to_vec()).unwrap();
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (b64, created) = (
        j["key"].as_str().unwrap(),
        j["creation-timestamp"].as_i64().unwrap(),
    );
    assert_eq!(
        text,
        format!(r#"{{"key":"{b64}","algorithm":"HmacSHA256","creation-timestamp":{created}}}"#),
        "Kafka's field order and types"
    );
    let key = openssl::base64::decode_block(b64).unwrap();
    assert_eq!(key.len(), 32, "a 256-bit HmacSHA256 key");
    assert!(
        created > before - 120_000 && created <= now_ms(),
        "{created}"
    );

    let (code, body) = create(
        &c.workers[0],
        &json!({"name": "sig", "config": {"connector.class": "TestSource", "tasks.max": "2"}}),
    );
    assert_eq!(code, 201, "{body}");
    wait_for("sig RUNNING with 2 tasks", Duration::from_secs(90), || {
        c.agreed_running("sig")
            .is_some_and(|s| s["tasks"].as_array().is_some_and(|t| t.len() == 2))
    });

    let task = |marker: &str| {
        json!({"connector.class": "TestSource", "name": "sig", "tasks.max": "2",
               "task.class": "org.sluice.testkit.IdleSourceTask", "task.id": "0",
               "marker": marker})
    };
    let sha256 = openssl::hash::MessageDigest::sha256;
    for w in &c.workers {
        let body = json!([task("refused")]).to_string();
        let path = "/connectors/sig/tasks";
        w.call(
            "POST",
            path,
            Some(&body),
            &[("Content-Type", "application/json")],
        )
        .assert_error(400, "Internal request missing required signature");
        let wrong_key = hmac_b64(sha256(), b"not the session key", body.as_bytes());
        w.call(
            "POST",
            path,
            Some(&body),
            &[
                ("Content-Type", "application/json"),
                (SIGNATURE_HEADER, &wrong_key),
                (ALGORITHM_HEADER, "HmacSHA256"),
            ],
        )
        .assert_error(403, "Internal request contained invalid signature.");
        let other_body = hmac_b64(sha256(), &key, b"[]");
        w.call(
            "POST",
            path,
            Some(&body),
            &[
                ("Content-Type", "application/json"),
                (SIGNATURE_HEADER, &other_body),
                (ALGORITHM_HEADER, "HmacSHA256"),
            ],
        )
        .assert_error(403, "Internal request contained invalid signature.");
        let sha512 = hmac_b64(
            openssl::hash::MessageDigest::sha512(),
            &key,
            body.as_bytes(),
        );
        w.call(
            "POST",
            path,
            Some(&body),
            &[
                ("Content-Type", "application/json"),
                (SIGNATURE_HEADER, &sha512),
                (ALGORITHM_HEADER, "HmacSHA512"),
            ],
        )
        .assert_error(400, "This worker does not support the 'HmacSHA512' key signing algorithm used by other workers. This worker is currently configured to use: [HmacSHA256]. Check that all workers' configuration files permit the same set of signature algorithms, and correct any misconfigured worker and restart it.");
    }
    let tasks_everywhere = |expected: &serde_json::Value| {
        c.alive().all(|w| {
            w.get("/connectors/sig/tasks")
                .is_some_and(|(_, b)| b == *expected)
        })
    };
    assert!(
        !tasks_everywhere(
            &json!([{"id": {"connector": "sig", "task": 0}, "config": task("refused")}])
        ),
        "refused requests wrote nothing"
    );

    // Signed with the session key: every worker takes it (a follower forwards it).
    for (i, w) in c.workers.iter().enumerate() {
        let marker = format!("signed-via-worker-{i}");
        let body = json!([task(&marker)]).to_string();
        let sig = hmac_b64(sha256(), &key, body.as_bytes());
        // During a rebalance (the previous write changed the tasks) a worker answers 409, as
        // Kafka does; the sender retries.
        let deadline = Instant::now() + Duration::from_secs(60);
        let r = loop {
            let r = w.call(
                "POST",
                "/connectors/sig/tasks",
                Some(&body),
                &[
                    ("Content-Type", "application/json"),
                    (SIGNATURE_HEADER, &sig),
                    (ALGORITHM_HEADER, "HmacSHA256"),
                ],
            );
            if r.status != 409 || Instant::now() > deadline {
                break r;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        assert_eq!(r.status, 204, "{}", r.text);
        let expected = json!([{"id": {"connector": "sig", "task": 0}, "config": task(&marker)}]);
        wait_for(
            "the signed task configs on every worker",
            Duration::from_secs(30),
            || tasks_everywhere(&expected),
        );
        wait_for("sig RUNNING with 1 task", Duration::from_secs(90), || {
            c.agreed_running("sig")
                .is_some_and(|s| s["tasks"].as_array().is_some_and(|t| t.len() == 1))
        });
    }
    let recs = config_records(&broker, &c, "the signed task configs", |r| {
        last_value(r, "commit-sig") == Some(br#"{"tasks":1}"#.as_slice())
            && last_value(r, "task-sig-0")
                .is_some_and(|v| String::from_utf8_lossy(v).contains("signed-via-worker-1"))
    });
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(last_value(&recs, "task-sig-0").unwrap())
            .unwrap(),
        json!({"properties": task("signed-via-worker-1")})
    );
}

/// The generation of the last assignment a worker's log reports.
fn last_generation(log: &str, needle: &str) -> Option<u64> {
    log.lines()
        .rev()
        .find(|l| l.contains(needle))
        .and_then(|l| {
            let g = l.split("generation=").nth(1)?;
            g.split(|ch: char| !ch.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
}

fn log_has(w: &Worker, parts: &[&str]) -> bool {
    w.log_text()
        .lines()
        .any(|l| parts.iter().all(|p| l.contains(p)))
}

fn lines_equal(path: &Path, what: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| *l == what)
        .count()
}

/// Kafka's model: a connector's `start()` runs only on the worker that owns it, which computes
/// the task configs; a follower sends them to the leader over the signed internal endpoint
/// and the leader writes them. A connector that calls `request_task_reconfiguration` (the test
/// connector, when its `tasks.file` changes) gets its new task set written and running on
/// every worker, without a restart of the connector, whichever worker owns it.
#[test]
fn connector_owners_compute_task_configs_and_reconfigure() {
    let broker = Broker::start();
    let c = Cluster::start_with_test_plugins(&broker, 2);
    // Both workers in the group before the connectors exist, so a join moves none of them.
    wait_for(
        "both workers in the same generation",
        Duration::from_secs(60),
        || {
            let g: Vec<Option<u64>> = c
                .workers
                .iter()
                .map(|w| last_generation(&w.log_text(), "Received an assignment."))
                .collect();
            g.iter().all(Option::is_some) && g[0] == g[1]
        },
    );
    let names = ["alpha", "bravo", "charlie", "delta"];
    for (i, name) in names.iter().enumerate() {
        let tasks_file = c.path(&format!("{name}.tasks"));
        std::fs::write(&tasks_file, "1").unwrap();
        let body = json!({"name": name, "config": {
            "connector.class": "TestSource", "tasks.max": "4",
            "tasks.file": tasks_file.display().to_string(),
            "starts.file": c.path(&format!("{name}.starts")).display().to_string(),
        }});
        let (code, b) = create(&c.workers[i % 2], &body);
        assert_eq!(code, 201, "{b}");
    }
    let tasks_of = |name: &str| {
        c.agreed_running(name)
            .map(|s| s["tasks"].as_array().map_or(0, Vec::len))
    };
    wait_for(
        "every connector RUNNING with 1 task",
        Duration::from_secs(120),
        || names.iter().all(|n| tasks_of(n) == Some(1)),
    );

    // The leader computed the latest assignment.
    let leader = (0..2)
        .max_by_key(|i| last_generation(&c.workers[*i].log_text(), "Computed the assignment."))
        .unwrap();
    let follower = 1 - leader;
    let logs = c.logs();
    let mut followers_own = Vec::new();
    for name in names {
        let field = format!("connector={name}");
        // Every start() the connector saw is a "Connector started." of a connector actor:
        // no worker starts an instance just to compute task configs.
        let started = logs
            .lines()
            .filter(|l| l.contains("Connector started.") && l.contains(&field))
            .count();
        assert_eq!(
            lines_equal(&c.path(&format!("{name}.starts")), "connector"),
            started,
            "{name}: start() calls vs connector actor starts"
        );
        assert!(started >= 1, "{name}");
        let owner = c.running(name)["connector"]["worker_id"]
            .as_str()
            .unwrap()
            .to_string();
        if c.worker_index(&owner) == Some(follower)
            && log_has(
                &c.workers[follower],
                &["Sent the connector's task configs to the leader.", &field],
            )
        {
            followers_own.push(name);
            assert!(
                log_has(&c.workers[leader], &["Wrote task configs.", &field]),
                "the leader wrote {name}'s task configs"
            );
        }
    }
    assert!(
        !followers_own.is_empty(),
        "no connector's task configs came from a follower\n{logs}"
    );

    // request_task_reconfiguration: one connector owned by the follower, one by the leader.
    let leader_owned = names
        .iter()
        .find(|n| c.running(n)["connector"]["worker_id"] == c.workers[leader].worker_id().as_str())
        .copied()
        .expect("the leader owns a connector");
    let follower_owned = followers_own[0];
    for name in [follower_owned, leader_owned] {
        std::fs::write(c.path(&format!("{name}.tasks")), "3").unwrap();
    }
    wait_for(
        "both reconfigured to 3 tasks",
        Duration::from_secs(120),
        || tasks_of(follower_owned) == Some(3) && tasks_of(leader_owned) == Some(3),
    );
    for name in [follower_owned, leader_owned] {
        for w in c.alive() {
            let (_, tasks) = w.get(&format!("/connectors/{name}/tasks")).unwrap();
            let contents: Vec<&serde_json::Value> = tasks
                .as_array()
                .unwrap()
                .iter()
                .map(|t| &t["config"]["tasks.file.content"])
                .collect();
            assert_eq!(contents, [&json!("3"); 3], "{name} on {}", w.worker_id());
        }
        assert_eq!(
            lines_equal(&c.path(&format!("{name}.starts")), "connector"),
            1,
            "{name} was reconfigured, not restarted"
        );
    }
    assert!(log_has(
        &c.workers[follower],
        &[
            "Sent the connector's task configs to the leader.",
            &format!("connector={follower_owned}"),
            "tasks=3"
        ]
    ));
    // Fewer tasks: the extra ones stop everywhere.
    std::fs::write(c.path(&format!("{follower_owned}.tasks")), "2").unwrap();
    wait_for("reconfigured to 2 tasks", Duration::from_secs(120), || {
        tasks_of(follower_owned) == Some(2)
    });
}

/// Every `session-key` record read, in order: (key bytes, creation timestamp).
fn session_keys(recs: &[(String, Option<Vec<u8>>)]) -> Vec<(Vec<u8>, i64)> {
    recs.iter()
        .filter(|(k, _)| k == "session-key")
        .filter_map(|(_, v)| serde_json::from_slice::<serde_json::Value>(v.as_deref()?).ok())
        .map(|j| {
            (
                openssl::base64::decode_block(j["key"].as_str().unwrap()).unwrap(),
                j["creation-timestamp"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The leader replaces the session key once it is `inter.worker.key.ttl.ms` old; the worker
/// then takes requests signed with the new key and refuses the old one.
#[test]
fn session_keys_rotate_after_their_ttl() {
    let broker = Broker::start();
    let c = Cluster::start_with_extra(
        &broker,
        1,
        Launch::default(),
        "inter.worker.key.ttl.ms=3000\n",
    );
    let recs = config_records(&broker, &c, "a second session key", |r| {
        session_keys(r).len() >= 2
    });
    let keys = session_keys(&recs);
    assert_ne!(keys[0].0, keys[1].0, "a new key");
    assert!(
        keys[1].1 - keys[0].1 >= 3000,
        "rotated once the first was 3 s old: {} -> {}",
        keys[0].1,
        keys[1].1
    );
    let body = r#"[{"task.class":"T"}]"#;
    let post = |key: &[u8]| {
        let sig = hmac_b64(openssl::hash::MessageDigest::sha256(), key, body.as_bytes());
        c.workers[0].call(
            "POST",
            "/connectors/none/tasks",
            Some(body),
            &[
                ("Content-Type", "application/json"),
                (SIGNATURE_HEADER, &sig),
                (ALGORITHM_HEADER, "HmacSHA256"),
            ],
        )
    };
    // Signed with the newest key on the topic, the request passes the signature check (and
    // meets the unknown connector); keys keep rotating, so read the newest one each time.
    wait_for(
        "a request signed with the current key to pass",
        Duration::from_secs(60),
        || {
            let recs = config_records(&broker, &c, "a session key", |r| {
                !session_keys(r).is_empty()
            });
            let newest = session_keys(&recs).pop().unwrap().0;
            post(&newest).status == 404
        },
    );
    post(&keys[0].0).assert_error(403, "Internal request contained invalid signature.");
}

/// An inter.worker.* algorithm the worker cannot use stops it at start-up with a message
/// naming the key, the value and what is allowed; so does a signature algorithm the
/// verification list does not permit.
#[test]
fn unsupported_inter_worker_algorithms_stop_the_worker_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "inter.worker.signature.algorithm=HmacMD5\ninter.worker.verification.algorithms=HmacSHA256,SHA1withRSA\n",
            vec![
                "Invalid value HmacMD5 for configuration inter.worker.signature.algorithm: the algorithm is not supported by this worker; the supported algorithms are: HmacSHA1, HmacSHA224, HmacSHA256, HmacSHA384, HmacSHA512",
                "Invalid value HmacSHA256,SHA1withRSA for configuration inter.worker.verification.algorithms: SHA1withRSA: the algorithm is not supported by this worker",
            ],
        ),
        (
            "inter.worker.verification.algorithms=HmacSHA512\n",
            vec!["Invalid value HmacSHA256 for configuration inter.worker.signature.algorithm: Signature algorithm must be present in inter.worker.verification.algorithms list"],
        ),
    ];
    for (i, (extra, expected)) in cases.into_iter().enumerate() {
        let props = dir.path().join(format!("worker-{i}.properties"));
        let text = format!(
            "{}{extra}",
            seed000_worker(&format!("127.0.0.1:{}", free_port()), "g")
        );
        std::fs::write(&props, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args([
                "distributed",
                "--listeners",
                &format!("http://127.0.0.1:{}", free_port()),
            ])
            .arg(&props)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        for e in expected {
            assert!(err.contains(e), "stderr lacks {e:?}:\n{err}");
        }
        assert!(err.contains("nothing was started"), "{err}");
    }
}

/// The member id a worker's group client has now: the last JoinGroup it completed.
fn member_id(w: &Worker) -> Option<String> {
    w.log_text()
        .lines()
        .rev()
        .find(|l| l.contains("JoinGroup response.") && l.contains(" code=0 "))
        .and_then(|l| l.split("member=").nth(1))
        .map(|m| m.split_whitespace().next().unwrap_or("").to_string())
}

/// Whether the worker's last completed JoinGroup made it the leader.
pub(crate) fn leads(w: &Worker) -> bool {
    w.log_text()
        .lines()
        .rev()
        .find(|l| l.contains("Joined the group"))
        .is_some_and(|l| l.contains("as leader"))
}

/// Removes `member` from `group` with a LeaveGroup of the test's own, as an administrator
/// does (`kafka-consumer-groups --delete --members`, Admin `removeMembersFromConsumerGroup`):
/// the coordinator forgets it, and its next heartbeat is answered UNKNOWN_MEMBER_ID. Returns
/// the member's error code.
fn remove_member(broker: &Broker, group: &str, member: &str) -> i16 {
    use kafka_protocol::messages::leave_group_request::MemberIdentity;
    use kafka_protocol::messages::{ApiKey, GroupId, LeaveGroupRequest};
    use kafka_protocol::protocol::StrBytes;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let security = sluice_group::security::Security::default();
        let mut conn = sluice_group::driver::find_coordinator(
            &[broker.bootstrap()],
            group,
            "sluice-it-admin",
            &security,
        )
        .await
        .unwrap();
        let version = conn.version(ApiKey::LeaveGroup).unwrap();
        let req = LeaveGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())));
        let req = if version >= 3 {
            req.with_members(vec![
                MemberIdentity::default().with_member_id(StrBytes::from_string(member.to_string()))
            ])
        } else {
            req.with_member_id(StrBytes::from_string(member.to_string()))
        };
        let resp = conn
            .call(ApiKey::LeaveGroup, &req, Duration::from_secs(10))
            .await
            .unwrap();
        if resp.error_code != 0 {
            return resp.error_code;
        }
        resp.members.first().map_or(0, |m| m.error_code)
    })
}

/// A worker whose membership the coordinator forgets (removed by an administrator here; a
/// session the coordinator wrongly expired looks the same to the worker) rejoins under a new
/// member id. With `extra` (the cluster's protocol) set, this removes the follower, and
/// returns the cluster, the follower's index, and the task starts of `src` and `snk` before
/// the removal and after it, once the follower rejoined and 100 more lines went through.
fn evict_the_follower(broker: &Broker, extra: &str) -> (Cluster, usize, [usize; 2], [usize; 2]) {
    let c = Cluster::start_with_extra(broker, 2, Launch::default(), extra);
    let (_topic, source, sink) = source_and_sink(&c, "evicted", 100);
    wait_for(
        "the first 100 lines in the sink",
        Duration::from_secs(90),
        || all_lines_in(&sink, 100),
    );
    // The follower: a new leader would plan from the members' reports alone, with no memory
    // of the work the forgotten member held (Kafka's assignor does the same).
    let mut owner = 0;
    wait_for(
        "the work spread, the follower running some of it",
        Duration::from_secs(60),
        || {
            let p = placement(&c, &["src", "snk"]);
            let Some(f) = (0..2).find(|&i| !leads(&c.workers[i])) else {
                return false;
            };
            owner = f;
            p.len() == 4 && p.values().any(|w| *w == c.workers[f].worker_id())
        },
    );
    let before = [task_starts(&c, "src"), task_starts(&c, "snk")];
    // Remove the member id the worker has now, while the group is stable (the follower's
    // last group event is an assignment): a coordinator that is rebalancing may take the
    // member's pending JoinGroup back in (tansu does). Remove it again if the follower went
    // through another rebalance without noticing.
    let mut removed_at_len: Option<usize> = None;
    wait_for(
        "the follower to notice its removal",
        Duration::from_secs(90),
        || {
            let log = c.workers[owner].log_text();
            if log.contains("Lost the group membership") {
                return true;
            }
            let since = removed_at_len.map_or(log.as_str(), |n| log.get(n..).unwrap_or(""));
            let stable = settled_generation_in(since).is_some();
            if stable {
                if let Some(member) = member_id(&c.workers[owner]) {
                    let code = remove_member(broker, &c.group, &member);
                    eprintln!("LeaveGroup for {member}: error code {code}");
                    removed_at_len = Some(log.len());
                }
            }
            false
        },
    );
    wait_for(
        "the follower to rejoin with an assignment",
        Duration::from_secs(60),
        || {
            let log = c.workers[owner].log_text();
            log.rsplit_once("Lost the group membership")
                .is_some_and(|(_, after)| after.contains("Received an assignment."))
        },
    );
    append(&source, &(100..200).map(line).collect::<String>());
    wait_for("all 200 lines in the sink", Duration::from_secs(90), || {
        all_lines_in(&sink, 200)
    });
    settled_placement(&c, &["src", "snk"]);
    let after = [task_starts(&c, "src"), task_starts(&c, "snk")];
    (c, owner, before, after)
}

/// With the incremental cooperative protocol (the default, `sessioned`) a worker the
/// coordinator forgets keeps its work while it rejoins, as Kafka Connect's does
/// (`WorkerCoordinator.onJoinPrepare` keeps the assignment): no task restarts, the leader
/// leaves the work where it runs, and the data keeps flowing.
#[test]
fn a_worker_the_coordinator_forgets_keeps_its_work_while_it_rejoins() {
    let broker = Broker::start();
    let (c, owner, before, after) = evict_the_follower(&broker, "");
    assert!(
        log_has(
            &c.workers[owner],
            &["Lost the group membership: keeping the work running"]
        ),
        "the owner kept its work"
    );
    assert_eq!(
        after, before,
        "task starts of src and snk: nothing restarted"
    );
}

/// Evicts the follower of a cluster run with `extra`, and checks that it stopped its work
/// and started what it was assigned again.
fn evicted_follower_stops_its_work_and_starts_it_again(extra: &str) {
    let broker = Broker::start();
    let (c, owner, before, after) = evict_the_follower(&broker, extra);
    assert!(
        log_has(
            &c.workers[owner],
            &["Lost the group membership: stopping all work"]
        ),
        "the follower stopped its work"
    );
    assert!(
        after[0] + after[1] > before[0] + before[1],
        "the follower's work started again: before {before:?}, after {after:?}"
    );
}

/// With the eager protocol every rebalance revokes everything, so a worker the coordinator
/// forgets stops its work and starts what it is assigned again.
#[test]
#[ignore = "open: after the eager leader's brief double assignment, the revoked sink task's stop was seen not to return and the sink stalled (see the closing note of 2026-11-22)"]
fn an_eager_worker_the_coordinator_forgets_stops_its_work_and_starts_it_again() {
    evicted_follower_stops_its_work_and_starts_it_again("connect.protocol=eager\n");
}

/// With no lost-work delay (`scheduled.rebalance.max.delay.ms=0`) the leader may hand a
/// forgotten worker's work to another at once, so the worker stops it before it rejoins, and
/// rejoins only once its metadata says so: the work runs again (on one worker or the other)
/// and the data keeps flowing. Joining with the metadata of before the stop would make the
/// leader leave the stopped work with its old owner, and nobody would run it.
#[test]
fn a_worker_forgotten_with_no_lost_work_delay_stops_its_work_and_the_work_runs_again() {
    evicted_follower_stops_its_work_and_starts_it_again("scheduled.rebalance.max.delay.ms=0\n");
}

/// A task whose `stop()` never returns is abandoned after `task.shutdown.graceful.timeout.ms`
/// (as Kafka Connect's `Worker.awaitStopTask`): deleting its connector completes and the
/// worker goes on running other connectors, instead of waiting for it forever. (Two workers:
/// a one-member group on tansu 0.6.0 was seen to leave a rejoin unanswered for over 60 s.)
#[test]
fn a_task_that_never_stops_does_not_hold_up_the_worker() {
    let broker = Broker::start();
    let c = Cluster::start_with_test_plugins(&broker, 2);
    let (code, body) = create(
        &c.workers[0],
        &json!({"name": "stuck", "config": {"connector.class": "TestSource",
                "tasks.max": "1", "task.stop.hangs": "true"}}),
    );
    assert_eq!(code, 201, "{body}");
    c.running("stuck");
    let (code, body) = c.workers[0]
        .try_send("DELETE", "/connectors/stuck", None)
        .unwrap();
    assert_eq!(code, 204, "{body}");
    let (code, body) = create(
        &c.workers[0],
        &json!({"name": "after", "config": {"connector.class": "TestSource", "tasks.max": "1"}}),
    );
    assert_eq!(code, 201, "{body}");
    c.running("after");
    assert!(
        c.logs()
            .lines()
            .any(|l| l.contains("Graceful stop of a task failed") && l.contains("task=stuck-0")),
        "the stuck task was abandoned, and the log says which"
    );
}

/// Seconds since midnight of a log line's leading RFC 3339 timestamp
/// (`2026-12-03T17:14:35.625346Z ...`).
fn log_time(line: &str) -> Option<f64> {
    let t = line.get(11..26)?;
    let mut parts = t.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// A connector's tasks stop together when it is deleted (as Kafka Connect's
/// `Worker.stopAndAwaitTasks`): every task is told to stop before any is awaited, so six tasks
/// whose `stop()` never returns are all abandoned after one `task.shutdown.graceful.timeout.ms`
/// on each worker. Stopped one after another, the abandonments on a worker would come one
/// timeout apart (a worker giving up hundreds of tasks in a rebalance stayed out of its group
/// for over 30 s that way).
#[test]
fn a_connectors_tasks_stop_together_not_one_after_another() {
    const TIMEOUT_MS: f64 = 5_000.0; // task.shutdown.graceful.timeout.ms, Kafka's default
    let broker = Broker::start();
    let c = Cluster::start_with_test_plugins(&broker, 2);
    let (code, body) = create(
        &c.workers[0],
        &json!({"name": "stuck6", "config": {"connector.class": "TestSource",
                "tasks.max": "6", "task.stop.hangs": "true"}}),
    );
    assert_eq!(code, 201, "{body}");
    wait_for(
        "stuck6 and its six tasks RUNNING, same status on every worker",
        Duration::from_secs(90),
        || {
            c.agreed_running("stuck6")
                .is_some_and(|s| s["tasks"].as_array().map(Vec::len) == Some(6))
        },
    );
    let (code, body) = c.workers[0]
        .try_send("DELETE", "/connectors/stuck6", None)
        .unwrap();
    assert_eq!(code, 204, "{body}");
    let abandoned = |w: &Worker| -> Vec<f64> {
        w.log_text()
            .lines()
            .filter(|l| l.contains("Graceful stop of a task failed") && l.contains("task=stuck6-"))
            .filter_map(log_time)
            .collect()
    };
    wait_for("all six tasks abandoned", Duration::from_secs(120), || {
        c.workers.iter().map(|w| abandoned(w).len()).sum::<usize>() == 6
    });
    for w in &c.workers {
        let times = abandoned(w);
        let (Some(first), Some(last)) = (
            times.iter().copied().reduce(f64::min),
            times.iter().copied().reduce(f64::max),
        ) else {
            continue;
        };
        assert!(
            (last - first) * 1000.0 < TIMEOUT_MS,
            "worker {} abandoned its {} stuck tasks {:.1} s apart: they were stopped one after another\n{}",
            w.worker_id(),
            times.len(),
            last - first,
            c.logs()
        );
    }
}

/// A source task that moves to a worker already running its connector resumes from the
/// offsets its previous owner committed: that worker reads the offsets topic again before it
/// starts the task (Kafka's offset store reads to the end on every read), or the task would
/// read its input again from the start.
#[test]
fn a_task_moving_to_its_connectors_worker_resumes_from_committed_offsets() {
    let broker = Broker::start();
    let mut c = Cluster::start_with_test_plugins(&broker, 2);
    let topic = unique("moving-task");
    let source = c.path("source.txt");
    std::fs::write(&source, (0..100).map(line).collect::<String>()).unwrap();
    // The assignor gives a new connector to the worker with the fewest connectors and each
    // task to the worker with the fewest tasks (ties: the lower member id). A filler with two
    // tasks leaves the workers at one task each and one connector on one of them, so `src`
    // goes to the other worker and its task, on the tie, to the one with the filler; deleting
    // the filler leaves `src` and `src-0` on different workers.
    let (code, body) = create(
        &c.workers[0],
        &json!({"name": "filler", "config": {"connector.class": "TestSource", "tasks.max": "2"}}),
    );
    assert_eq!(code, 201, "{body}");
    c.running("filler");
    assert_eq!(
        create(&c.workers[0], &source_config("src", &source, &topic)).0,
        201
    );
    c.running("src");
    let (code, body) = c.workers[0]
        .try_send("DELETE", "/connectors/filler", None)
        .unwrap();
    assert_eq!(code, 204, "{body}");
    wait_for(
        "filler gone from every worker",
        Duration::from_secs(60),
        || {
            c.alive().all(|w| {
                w.get("/connectors/filler/status")
                    .is_some_and(|(code, _)| code == 404)
            })
        },
    );
    let p = settled_placement(&c, &["src"]);
    assert_ne!(
        p["src"], p["src-0"],
        "src and its task run on different workers: {p:?}"
    );
    let count = |recs: &[crate::harness::Consumed], i: usize| {
        let want = line(i);
        let want = want.trim_end();
        recs.iter()
            .filter(|r| {
                String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).contains(want)
            })
            .count()
    };
    crate::harness::consume_until(&broker.bootstrap(), &topic, Duration::from_secs(60), |r| {
        (0..100).all(|i| count(r, i) >= 1)
    });
    // Stop the task's worker gracefully (its offsets are committed); the task moves to the
    // worker that runs `src`.
    let task_worker = c.worker_index(&p["src-0"]).unwrap();
    assert!(c.workers[task_worker].terminate().success());
    c.workers[task_worker].rest_port = 0;
    append(&source, &(100..200).map(line).collect::<String>());
    let recs =
        crate::harness::consume_until(&broker.bootstrap(), &topic, Duration::from_secs(90), |r| {
            (0..200).all(|i| count(r, i) >= 1)
        });
    let repeated: Vec<usize> = (0..200).filter(|&i| count(&recs, i) > 1).collect();
    assert!(
        (0..200).all(|i| count(&recs, i) >= 1),
        "every line reached the topic"
    );
    assert!(
        repeated.is_empty(),
        "the moved task resumed from its committed offset; lines read again: {} of 200",
        repeated.len()
    );
}
