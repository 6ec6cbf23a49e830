//! A distributed cluster's REST API as an operator meets it in production (issue 15): HTTPS
//! listeners with Basic authentication on every worker, requests forwarded over TLS with the
//! user's credentials, the signed internal request exempt from authentication, 204 answers
//! relayed as 204, connector config changes that restart tasks whose configs stay the same,
//! the request timeout, and sink consumers that leave their group on a graceful stop.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::distributed::{count_in_logs, create, leads, sink_config, source_config, Cluster};
use crate::harness::{self, produce, unique, wait_for, Broker, Launch, Worker};

const UNAUTHORIZED: &str = r#"{"error_code":401,"message":"User cannot access the resource."}"#;

/// The index of the one worker whose last completed JoinGroup made it the leader, once only
/// one claims it.
fn leader(c: &Cluster) -> usize {
    let mut found = None;
    wait_for("one leader", Duration::from_secs(60), || {
        let leading: Vec<usize> = (0..c.workers.len())
            .filter(|i| leads(&c.workers[*i]))
            .collect();
        found = (leading.len() == 1).then(|| leading[0]);
        found.is_some()
    });
    found.unwrap_or_default()
}

/// Sends a request as `call` does and returns status, content type and body.
fn answer(
    w: &Worker,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, Option<String>, String) {
    let h: &[(&str, &str)] = if body.is_some() {
        &[("Content-Type", "application/json")]
    } else {
        &[]
    };
    let r = w.call(method, path, body, h);
    (
        r.status,
        r.header("content-type").map(str::to_string),
        r.text,
    )
}

#[test]
fn a_secured_cluster_needs_credentials_on_every_worker_and_forwards_over_tls() {
    let broker = Broker::start();
    let (keys, launch) = harness::secure_rest_keys();
    let c = Cluster::start_with_extra(&broker, 3, launch, &keys);
    let lead = leader(&c);
    let follower = (lead + 1) % 3;
    eprintln!(
        "leader: worker {lead} ({}); creating through worker {follower}",
        c.workers[lead].worker_id()
    );

    // Without credentials (or with wrong ones) every call is refused on every worker,
    // whatever it is and whether the route exists.
    let src = source_config("src-0", &c.path("in-0.txt"), "t");
    let calls: Vec<(Method, &str, Option<serde_json::Value>)> = vec![
        (Method::GET, "/", None),
        (Method::GET, "/health", None),
        (Method::GET, "/connectors", None),
        (Method::POST, "/connectors", Some(src.clone())),
        (Method::GET, "/connectors/src-0", None),
        (Method::GET, "/connectors/src-0/status", None),
        (
            Method::PUT,
            "/connectors/src-0/config",
            Some(src["config"].clone()),
        ),
        (
            Method::PATCH,
            "/connectors/src-0/config",
            Some(json!({"a": "b"})),
        ),
        (Method::POST, "/connectors/src-0/restart", None),
        (Method::POST, "/connectors/src-0/tasks/0/restart", None),
        (Method::PUT, "/connectors/src-0/pause", None),
        (Method::PUT, "/connectors/src-0/stop", None),
        (Method::GET, "/connectors/src-0/tasks", None),
        (Method::GET, "/connectors/src-0/offsets", None),
        (Method::DELETE, "/connectors/src-0", None),
        (Method::GET, "/connector-plugins", None),
        (
            Method::PUT,
            "/connector-plugins/FileStreamSource/config/validate",
            Some(src["config"].clone()),
        ),
        (Method::GET, "/admin/loggers", None),
        (Method::GET, "/no/such/route", None),
        // Only POST is Kafka's internal request.
        (Method::GET, "/connectors/src-0/tasks/0/status", None),
    ];
    for w in &c.workers {
        for (m, path, body) in &calls {
            for creds in [
                None,
                Some(("it-admin", "wrong")),
                Some(("nobody", "it-admin-pw")),
            ] {
                let got = w.request(m.clone(), path, body.clone(), creds);
                assert_eq!(
                    got,
                    Some((401, UNAUTHORIZED.to_string())),
                    "{m} {path} with {creds:?} on {}",
                    w.worker_id()
                );
            }
        }
    }

    // With credentials: connectors created through a follower (forwarded to the leader over
    // TLS with the user's Authorization header), three of them so that followers own some
    // and send their task configs to the leader's internal endpoint.
    let names = ["src-0", "src-1", "src-2"];
    for (i, name) in names.iter().enumerate() {
        let file = c.path(&format!("in-{i}.txt"));
        std::fs::write(&file, "one\ntwo\n").unwrap();
        let (code, body) = create(
            &c.workers[follower],
            &source_config(name, &file, &unique("secured")),
        );
        assert_eq!(code, 201, "{body}");
    }
    let mut owners = Vec::new();
    for name in names {
        let status = c.running(name);
        owners.push(
            status["connector"]["worker_id"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
        for w in &c.workers {
            let (code, tasks) = w.get(&format!("/connectors/{name}/tasks")).unwrap();
            assert_eq!(code, 200, "{tasks}");
            assert_eq!(tasks.as_array().map(Vec::len), Some(1), "{tasks}");
        }
    }
    eprintln!("connector owners: {owners:?}");
    assert!(
        owners.iter().any(|o| *o != c.workers[lead].worker_id()),
        "a follower owns a connector: {owners:?}"
    );

    // Restarts through a follower: the leader's 204 is relayed as 204, no body, no type.
    let (status, ctype, text) = answer(
        &c.workers[follower],
        "POST",
        "/connectors/src-0/restart",
        None,
    );
    assert_eq!((status, ctype.as_deref(), text.as_str()), (204, None, ""));
    let (status, ctype, text) = answer(
        &c.workers[follower],
        "POST",
        "/connectors/src-1/restart?includeTasks=true",
        None,
    );
    assert_eq!(status, 202, "{text}");
    assert_eq!(ctype.as_deref(), Some("application/json"));
    let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(plan["name"], "src-1", "{text}");
    // A task restart sent to a worker that does not run the task goes to the one that does.
    let status = c.running("src-2");
    let task_owner = status["tasks"][0]["worker_id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = c
        .workers
        .iter()
        .position(|w| w.worker_id() != task_owner)
        .unwrap();
    let restart = || {
        answer(
            &c.workers[other],
            "POST",
            "/connectors/src-2/tasks/0/restart",
            None,
        )
    };
    // A worker answers 409 while the group rebalances, as Kafka Connect does; a client retries.
    let mut reply = restart();
    let deadline = Instant::now() + Duration::from_secs(60);
    while reply.0 == 409 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        reply = restart();
    }
    let (status, ctype, text) = reply;
    assert_eq!((status, ctype.as_deref(), text.as_str()), (204, None, ""));
    for name in names {
        c.running(name);
    }

    // The internal request passes authentication (Kafka exempts it) and is judged by its
    // signature alone: refused without one, and with a wrong one, on every worker.
    let body = json!([{"file": "/tmp/x", "topic": "t", "task.class": "x"}]);
    for w in &c.workers {
        let got = w.request(
            Method::POST,
            "/connectors/src-0/tasks",
            Some(body.clone()),
            None,
        );
        let (code, text) = got.unwrap();
        assert_eq!(code, 400, "{text}");
        assert!(
            text.contains("Internal request missing required signature"),
            "{text}"
        );
        let r = w.call(
            "POST",
            "/connectors/src-0/tasks",
            Some(&body.to_string()),
            &[
                ("Content-Type", "application/json"),
                ("Authorization", "Basic bm9ib2R5Om5vcGU="),
                ("X-Connect-Authorization", "AAAA"),
                ("X-Connect-Request-Signature-Algorithm", "HmacSHA256"),
            ],
        );
        r.assert_error(403, "Internal request contained invalid signature.");
    }

    // A config change through a follower, of a connector a follower owns now: the owner
    // computes the task configs again and sends them to the leader's internal endpoint (over
    // TLS, without credentials, signed). tansu may hand leadership to another worker at a
    // rebalance, so the leader and the owners are read again here.
    let lead = leader(&c);
    let owners: Vec<String> = names
        .iter()
        .map(|n| {
            c.running(n)["connector"]["worker_id"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let (i, owned) = names
        .iter()
        .enumerate()
        .find(|(i, _)| owners[*i] != c.workers[lead].worker_id())
        .unwrap();
    let owner = c.worker_index(&owners[i]).unwrap();
    let sent = "Sent the connector's task configs to the leader.";
    let wrote = "Wrote task configs.";
    let delivered =
        |w: &Worker| w.log_text().matches(sent).count() + w.log_text().matches(wrote).count();
    let delivered_before = delivered(&c.workers[owner]);
    let mut changed =
        source_config(owned, &c.path(&format!("in-{i}.txt")), &unique("secured"))["config"].clone();
    changed["batch.size"] = json!("10");
    let (status, ctype, text) = answer(
        &c.workers[follower],
        "PUT",
        &format!("/connectors/{owned}/config"),
        Some(&changed.to_string()),
    );
    assert_eq!(status, 200, "{text}");
    assert_eq!(ctype.as_deref(), Some("application/json"));
    wait_for(
        "the owner to deliver the new task configs",
        Duration::from_secs(60),
        || delivered(&c.workers[owner]) > delivered_before,
    );
    wait_for(
        "the new task configs everywhere",
        Duration::from_secs(60),
        || {
            c.workers.iter().all(|w| {
                w.get(&format!("/connectors/{owned}/tasks"))
                    .is_some_and(|(_, t)| t[0]["config"]["batch.size"] == "10")
            })
        },
    );
    // Followers used the internal endpoint (at the creations or at this change).
    assert!(
        count_in_logs(&c, sent) >= 1,
        "no follower sent task configs"
    );
    c.running(owned);
    assert_eq!(
        count_in_logs(&c, "Internal request contained invalid signature"),
        0
    );
    // A delete through a follower: the leader's 204, relayed bare.
    let (status, ctype, text) = answer(&c.workers[follower], "DELETE", "/connectors/src-1", None);
    assert_eq!((status, ctype.as_deref(), text.as_str()), (204, None, ""));
    wait_for("src-1 gone everywhere", Duration::from_secs(30), || {
        c.workers.iter().all(|w| {
            w.get("/connectors/src-1")
                .is_some_and(|(code, _)| code == 404)
        })
    });
}

#[test]
fn a_connector_config_change_restarts_tasks_whose_configs_stay_the_same() {
    let broker = Broker::start();
    let c = Cluster::start(&broker, 2);
    let topic = unique("plain-json");
    // JSON without the schema envelope: a JsonConverter with schemas.enable=true (its
    // default) cannot read it, so the sink task fails.
    let values: Vec<Vec<u8>> = (0..3)
        .map(|i| format!(r#"{{"n":{i}}}"#).into_bytes())
        .collect();
    produce(&broker.bootstrap(), &topic, &values);
    let sink = c.path("sink.txt");
    let mut cfg = sink_config("snk", &sink, &topic);
    // As in Kafka, a converter's sub-configs in a connector config apply with the converter
    // named there too.
    cfg["config"]["value.converter"] = json!("org.apache.kafka.connect.json.JsonConverter");
    assert_eq!(create(&c.workers[0], &cfg).0, 201);
    let mut seen = Vec::new();
    let failed_everywhere = crate::harness::poll_until(Duration::from_secs(90), || {
        seen = c.workers.iter().map(|w| w.status("snk")).collect();
        seen.iter().all(|s| {
            s.as_ref()
                .and_then(|s| s["tasks"][0]["state"].as_str().map(str::to_string))
                .as_deref()
                == Some("FAILED")
        })
    });
    assert!(
        failed_everywhere,
        "the sink task was not FAILED on every worker; their statuses: {seen:?}"
    );
    let (_, before) = c.workers[0].get("/connectors/snk/tasks").unwrap();

    // The fix the user makes: the converter setting only, through the other worker.
    let mut fixed = cfg["config"].clone();
    fixed["value.converter.schemas.enable"] = json!("false");
    // A write that lands during a rebalance is refused with 409, as in Kafka: a client tries
    // again.
    let mut answer = None;
    wait_for(
        "the config change to be accepted (409 while the cluster rebalances)",
        Duration::from_secs(60),
        || {
            let r = c.workers[1].send("PUT", "/connectors/snk/config", Some(fixed.clone()));
            let done = r.status != 409;
            answer = Some(r);
            done
        },
    );
    let r = answer.unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    c.running("snk");
    wait_for(
        "the records in the sink file",
        Duration::from_secs(60),
        || {
            std::fs::read_to_string(&sink)
                .unwrap_or_default()
                .lines()
                .count()
                >= 3
        },
    );
    assert_eq!(
        std::fs::read_to_string(&sink).unwrap(),
        "{n=0}\n{n=1}\n{n=2}\n"
    );
    // The task configs themselves did not change: the restart came from the connector config.
    let (_, after) = c.workers[0].get("/connectors/snk/tasks").unwrap();
    assert_eq!(before, after);
}

#[test]
fn a_change_that_cannot_complete_times_out_naming_what_the_worker_is_doing() {
    let broker = Broker::start();
    let launch = Launch {
        env: vec![("SLUICE_REST_REQUEST_TIMEOUT_MS".into(), "3000".into())],
        ..Launch::default()
    };
    let c = Cluster::start_with(&broker, 1, launch);
    leader(&c);
    // Joined, and the generation complete (SyncGroup answered): otherwise a change is refused
    // with 409 as during any rebalance, not timed out.
    wait_for("the leader's assignment", Duration::from_secs(60), || {
        c.workers[0].log_text().contains("Received an assignment.")
    });
    // The broker goes away: the leader's write to the config topic cannot complete.
    drop(broker);
    let w = &c.workers[0];
    let started = Instant::now();
    let r = w.send(
        "POST",
        "/connectors",
        Some(source_config("stuck", &c.path("in.txt"), "t")),
    );
    let took = started.elapsed();
    eprintln!("answered {} after {took:?}: {}", r.status, r.text);
    assert_eq!(r.status, 500, "{}", r.text);
    let message = r.json["message"].as_str().unwrap_or("");
    // The worker is busy with the write, or already with the group's reaction to the lost
    // broker: either way the answer says what, and since when.
    assert!(
        message.starts_with("Request timed out. The worker is currently ")
            && message.contains(", which began at 20")
            && message.ends_with(". The request was to write the config of connector stuck."),
        "{message}"
    );
    assert!(took < Duration::from_secs(20), "answered after {took:?}");
    // Another change waits behind it and times out the same way.
    let r = w.send("DELETE", "/connectors/other", None);
    assert_eq!(r.status, 500, "{}", r.text);
    assert!(
        r.json["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("Request timed out. The worker is currently "),
        "{}",
        r.text
    );
}

/// The members the group coordinator lists for a consumer group (DescribeGroups).
fn group_members(bootstrap: &str, group: &str) -> Vec<String> {
    use kafka_protocol::messages::{ApiKey, DescribeGroupsRequest, GroupId};
    use kafka_protocol::protocol::StrBytes;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let security = sluice_group::security::Security::default();
        let mut conn = sluice_group::driver::find_coordinator(
            &[bootstrap.to_string()],
            group,
            "sluice-it-admin",
            &security,
        )
        .await
        .unwrap();
        let req = DescribeGroupsRequest::default()
            .with_groups(vec![GroupId(StrBytes::from_string(group.to_string()))]);
        let resp = conn
            .call(ApiKey::DescribeGroups, &req, Duration::from_secs(10))
            .await
            .unwrap();
        resp.groups
            .iter()
            .flat_map(|g| g.members.iter().map(|m| m.member_id.to_string()))
            .collect()
    })
}

#[test]
fn a_gracefully_stopped_sink_leaves_its_consumer_group_at_once() {
    let broker = Broker::start();
    // A long consumer session: a member that did not leave stays listed for 45 s.
    let extra = "\nconsumer.session.timeout.ms=45000\n";
    let mut c = Cluster::start_with_extra(&broker, 1, Launch::default(), extra);
    let topic = unique("leave");
    produce(&broker.bootstrap(), &topic, &[b"x".to_vec()]);
    let sink = c.path("sink.txt");
    let mut cfg = sink_config("snk", &sink, &topic);
    cfg["config"]["value.converter"] = json!("org.apache.kafka.connect.storage.StringConverter");
    assert_eq!(create(&c.workers[0], &cfg).0, 201);
    c.running("snk");
    wait_for("the record in the sink", Duration::from_secs(60), || {
        std::fs::read_to_string(&sink)
            .unwrap_or_default()
            .contains('x')
    });
    let group = "connect-snk";
    wait_for(
        "the sink's consumer in its group",
        Duration::from_secs(30),
        || group_members(&broker.bootstrap(), group).len() == 1,
    );
    let status = c.workers[0].terminate();
    assert!(status.success(), "{status:?}");
    let members = group_members(&broker.bootstrap(), group);
    assert!(
        members.is_empty(),
        "the stopped worker's sink consumer is still a member: {members:?}"
    );
}

#[test]
fn sink_consumers_stopped_while_their_group_rebalances_leave_it() {
    let broker = Broker::start();
    let extra = "\nconsumer.session.timeout.ms=45000\n";
    let mut c = Cluster::start_with_extra(&broker, 1, Launch::default(), extra);
    let topic = unique("leave-rebalancing");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let mut settings = std::collections::BTreeMap::new();
            settings.insert("bootstrap.servers".to_string(), broker.bootstrap());
            let admin = sluice_kafka::admin::Admin::new("it-admin", &settings).unwrap();
            admin.create_topic(&topic, 2, 1, &[]).await.unwrap();
        });
    let sink = c.path("sink.txt");
    let mut cfg = sink_config("snk", &sink, &topic);
    cfg["config"]["tasks.max"] = json!("2");
    assert_eq!(create(&c.workers[0], &cfg).0, 201);
    // Both tasks' consumers join the group one after the other: stop the worker while the
    // second join (and the first member's rejoin) is under way.
    wait_for("both sink tasks started", Duration::from_secs(60), || {
        c.workers[0]
            .log_text()
            .matches("Sink task finished initialization and start.")
            .count()
            >= 2
    });
    let group = "connect-snk";
    let before = group_members(&broker.bootstrap(), group);
    let status = c.workers[0].terminate();
    assert!(status.success(), "{status:?}");
    let members = group_members(&broker.bootstrap(), group);
    eprintln!("members before the stop: {before:?}; after: {members:?}");
    assert!(
        members.is_empty(),
        "the stopped worker's sink consumers are still members: {members:?}"
    );
}
