//! `sluice ctl`: a command-line client for any Kafka Connect REST API (Sluice's or Java's),
//! with kcctl's grammar (`get`, `describe`, `apply`, `patch`, `restart`, `pause`, `resume`,
//! `stop`, `delete`, `offsets`, contexts) and `-o table|json|yaml` everywhere. It speaks only
//! the public REST API; a server error is shown as the server's message with the HTTP status,
//! and the command exits non-zero.

mod client;
mod contexts;
mod output;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand};
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};

use client::{seg, Client};
use contexts::{Context, Contexts};
use output::{document, table, Format};

#[derive(Args)]
pub struct CtlArgs {
    /// The contexts file (default: $SLUICE_CTL_CONFIG, else ~/.sluicectl).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Use this context instead of the current one.
    #[arg(long, global = true)]
    context: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = Format::Table)]
    output: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Version, commit and Kafka cluster id of the worker (`GET /`).
    Info,
    /// Contexts: which cluster, which credentials, which CA certificates.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Lists connectors, plugins or loggers, or shows a connector's offsets.
    Get {
        #[command(subcommand)]
        what: GetWhat,
    },
    /// Shows connectors: config, status, tasks (with traces), topics.
    Describe {
        #[command(subcommand)]
        what: DescribeWhat,
    },
    /// Creates or updates connectors from files (JSON `{"name", "config"}` or a flat map, or
    /// `.properties`); `-f -` reads JSON from stdin.
    Apply {
        #[arg(short = 'f', long = "file", required = true)]
        files: Vec<PathBuf>,
        /// The connector name, when the file has none.
        #[arg(short = 'n', long)]
        name: Option<String>,
        /// Only validate the config (`PUT /connector-plugins/{class}/config/validate`).
        #[arg(long)]
        dry_run: bool,
    },
    /// Changes keys of connectors' configs.
    Patch {
        #[command(subcommand)]
        what: PatchWhat,
    },
    /// Restarts connectors or a task.
    Restart {
        #[command(subcommand)]
        what: RestartWhat,
    },
    /// Pauses connectors.
    Pause {
        #[command(subcommand)]
        what: Selection,
    },
    /// Resumes connectors.
    Resume {
        #[command(subcommand)]
        what: Selection,
    },
    /// Stops connectors (KIP-875).
    Stop {
        #[command(subcommand)]
        what: Selection,
    },
    /// Deletes connectors.
    Delete {
        #[command(subcommand)]
        what: Selection,
    },
    /// A connector's offsets (KIP-875): get, patch, reset.
    Offsets {
        #[command(subcommand)]
        command: OffsetsCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Creates or changes a context and makes it current.
    SetContext {
        name: String,
        #[arg(long, default_value = contexts::DEFAULT_CLUSTER)]
        cluster: String,
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        password: Option<String>,
        /// A PEM file of CA certificates to trust for HTTPS.
        #[arg(long)]
        truststore: Option<PathBuf>,
    },
    /// Makes a context current.
    UseContext { name: String },
    /// Lists the contexts.
    GetContexts,
    /// Shows the current context's name.
    CurrentContext,
    /// Removes a context.
    RemoveContext { name: String },
}

/// Connectors by name or by regular expression.
#[derive(Args, Clone)]
struct Names {
    names: Vec<String>,
    /// Every connector whose name matches this regular expression.
    #[arg(short = 'e', long = "reg-exp")]
    regexp: Option<String>,
}

#[derive(Subcommand)]
enum Selection {
    /// Connectors by name or `-e REGEX`.
    #[command(alias = "connectors")]
    Connector(Names),
}

#[derive(Subcommand)]
enum GetWhat {
    /// Connectors with their type, state and tasks (`-e` filters).
    Connectors {
        #[arg(short = 'e', long = "reg-exp")]
        regexp: Option<String>,
    },
    /// Installed plugins.
    Plugins {
        /// Comma-separated types: source, sink, transformation, converter, header_converter, predicate.
        #[arg(short = 't', long = "types")]
        types: Option<String>,
    },
    /// Loggers and their levels.
    Loggers,
    /// A connector's offsets.
    Offsets { name: String },
}

#[derive(Subcommand)]
enum DescribeWhat {
    #[command(alias = "connectors")]
    Connector(Names),
}

#[derive(Subcommand)]
enum PatchWhat {
    #[command(alias = "connectors")]
    Connector {
        #[command(flatten)]
        names: Names,
        /// `key=value` to set.
        #[arg(short = 's', long = "set")]
        set: Vec<String>,
        /// A key to remove.
        #[arg(short = 'r', long = "remove")]
        remove: Vec<String>,
    },
}

#[derive(Subcommand)]
enum RestartWhat {
    #[command(alias = "connectors")]
    Connector {
        #[command(flatten)]
        names: Names,
        /// Restart the connector's tasks too.
        #[arg(long)]
        include_tasks: bool,
        /// Only what is FAILED.
        #[arg(long)]
        only_failed: bool,
    },
    /// A task, as `CONNECTOR/ID`.
    Task { task: String },
}

#[derive(Subcommand)]
enum OffsetsCommand {
    Get {
        name: String,
    },
    /// Alters offsets: a sink partition (`--kafka-topic --kafka-partition --kafka-offset`), a
    /// source partition (`--source-partition JSON --source-offset JSON`), or a file with the
    /// request body (`-f`).
    Patch {
        name: String,
        #[arg(long)]
        kafka_topic: Option<String>,
        #[arg(long)]
        kafka_partition: Option<i64>,
        #[arg(long)]
        kafka_offset: Option<i64>,
        #[arg(long)]
        source_partition: Option<String>,
        #[arg(long)]
        source_offset: Option<String>,
        #[arg(short = 'f', long = "file")]
        file: Option<PathBuf>,
    },
    /// Resets every offset of a (stopped) connector.
    Reset {
        name: String,
    },
}

/// Runs `sluice ctl`; the process's exit code.
pub async fn run(args: CtlArgs) -> std::process::ExitCode {
    let mut out = String::new();
    let result = execute(args, &mut out).await;
    print!("{out}");
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn execute(args: CtlArgs, out: &mut String) -> anyhow::Result<()> {
    let path = contexts::path(args.config.as_deref());
    let mut ctxs = Contexts::load(&path)?;
    if let Command::Config { command } = args.command {
        return config(command, &mut ctxs, &path, args.output, out);
    }
    let ctx = ctxs.select(args.context.as_deref())?;
    let client = Client::new(&ctx)?;
    let fmt = args.output;
    match args.command {
        Command::Config { .. } => Ok(()),
        Command::Info => {
            let v = client.get("/").await?;
            match fmt {
                Format::Table => {
                    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    out.push_str(&format!(
                        "URL:               {}\nVersion:           {}\nCommit:            {}\nKafka Cluster ID:  {}\n",
                        client.base(),
                        s("version"),
                        s("commit"),
                        s("kafka_cluster_id")
                    ));
                }
                f => out.push_str(&document(&v, f)),
            }
            Ok(())
        }
        Command::Get { what } => get(&client, what, fmt, out).await,
        Command::Describe {
            what: DescribeWhat::Connector(names),
        } => {
            let names = select(&client, &names).await?;
            let mut docs = Vec::new();
            for n in &names {
                docs.push(describe(&client, n).await?);
            }
            match fmt {
                Format::Table => {
                    for (i, d) in docs.iter().enumerate() {
                        if i > 0 {
                            out.push('\n');
                        }
                        out.push_str(&describe_text(d));
                    }
                }
                f => {
                    let v = if docs.len() == 1 {
                        docs.remove(0)
                    } else {
                        Value::Array(docs)
                    };
                    out.push_str(&document(&v, f));
                }
            }
            Ok(())
        }
        Command::Apply {
            files,
            name,
            dry_run,
        } => {
            for f in &files {
                apply(&client, f, name.as_deref(), dry_run, fmt, out).await?;
            }
            Ok(())
        }
        Command::Patch {
            what: PatchWhat::Connector { names, set, remove },
        } => {
            let mut changes = Vec::new();
            for s in &set {
                let (k, v) = s
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--set {s}: expected key=value"))?;
                changes.push((k.trim().to_string(), v.to_string()));
            }
            for n in select(&client, &names).await? {
                let mut config = client
                    .get(&format!("/connectors/{}/config", seg(&n)))
                    .await?;
                let map = config
                    .as_object_mut()
                    .ok_or_else(|| anyhow!("the config of {n} is not a JSON object"))?;
                for (k, v) in &changes {
                    map.insert(k.clone(), Value::String(v.clone()));
                }
                for k in &remove {
                    map.remove(k);
                }
                client
                    .call(
                        Method::PUT,
                        &format!("/connectors/{}/config", seg(&n)),
                        Some(&config),
                    )
                    .await?;
                out.push_str(&format!("Patched connector {n}\n"));
            }
            Ok(())
        }
        Command::Restart { what } => match what {
            RestartWhat::Connector {
                names,
                include_tasks,
                only_failed,
            } => {
                for n in select(&client, &names).await? {
                    let path = format!(
                        "/connectors/{}/restart?includeTasks={include_tasks}&onlyFailed={only_failed}",
                        seg(&n)
                    );
                    client.call(Method::POST, &path, None).await?;
                    out.push_str(&format!("Restarted connector {n}\n"));
                }
                Ok(())
            }
            RestartWhat::Task { task } => {
                let (c, id) = task
                    .rsplit_once('/')
                    .and_then(|(c, id)| id.parse::<u32>().ok().map(|id| (c, id)))
                    .ok_or_else(|| anyhow!("task {task}: expected CONNECTOR/ID"))?;
                client
                    .call(
                        Method::POST,
                        &format!("/connectors/{}/tasks/{id}/restart", seg(c)),
                        None,
                    )
                    .await?;
                out.push_str(&format!("Restarted task {c}/{id}\n"));
                Ok(())
            }
        },
        Command::Pause {
            what: Selection::Connector(names),
        } => simple(&client, &names, Method::PUT, "/pause", "Paused", out).await,
        Command::Resume {
            what: Selection::Connector(names),
        } => simple(&client, &names, Method::PUT, "/resume", "Resumed", out).await,
        Command::Stop {
            what: Selection::Connector(names),
        } => simple(&client, &names, Method::PUT, "/stop", "Stopped", out).await,
        Command::Delete {
            what: Selection::Connector(names),
        } => simple(&client, &names, Method::DELETE, "", "Deleted", out).await,
        Command::Offsets { command } => offsets(&client, command, fmt, out).await,
    }
}

fn config(
    command: ConfigCommand,
    ctxs: &mut Contexts,
    path: &Path,
    fmt: Format,
    out: &mut String,
) -> anyhow::Result<()> {
    match command {
        ConfigCommand::SetContext {
            name,
            cluster,
            username,
            password,
            truststore,
        } => {
            ctxs.contexts.insert(
                name.clone(),
                Context {
                    cluster,
                    username,
                    password,
                    truststore,
                },
            );
            ctxs.current = Some(name.clone());
            ctxs.save(path)?;
            out.push_str(&format!("Using context {name}\n"));
        }
        ConfigCommand::UseContext { name } => {
            if !ctxs.contexts.contains_key(&name) {
                bail!(
                    "no context named {name}; known contexts: {}",
                    ctxs.names().join(", ")
                );
            }
            ctxs.current = Some(name.clone());
            ctxs.save(path)?;
            out.push_str(&format!("Using context {name}\n"));
        }
        ConfigCommand::GetContexts => match fmt {
            Format::Table => {
                let rows: Vec<Vec<String>> = ctxs
                    .contexts
                    .iter()
                    .map(|(n, c)| {
                        let current = if ctxs.current.as_deref() == Some(n) {
                            "*"
                        } else {
                            ""
                        };
                        vec![
                            current.to_string(),
                            n.clone(),
                            c.cluster.clone(),
                            c.username.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                out.push_str(&table(&["CURRENT", "NAME", "CLUSTER", "USERNAME"], &rows));
            }
            f => {
                let v: Map<String, Value> = ctxs
                    .contexts
                    .iter()
                    .map(|(n, c)| {
                        (
                            n.clone(),
                            json!({"cluster": c.cluster, "username": c.username, "current": ctxs.current.as_deref() == Some(n)}),
                        )
                    })
                    .collect();
                out.push_str(&document(&Value::Object(v), f));
            }
        },
        ConfigCommand::CurrentContext => match &ctxs.current {
            Some(c) => out.push_str(&format!("{c}\n")),
            None => bail!("no current context; create one with sluice ctl config set-context"),
        },
        ConfigCommand::RemoveContext { name } => {
            if ctxs.contexts.remove(&name).is_none() {
                bail!("no context named {name}");
            }
            if ctxs.current.as_deref() == Some(&name) {
                ctxs.current = None;
            }
            ctxs.save(path)?;
            out.push_str(&format!("Removed context {name}\n"));
        }
    }
    Ok(())
}

/// The connectors named, or matching `-e` (a regular expression over the whole name).
async fn select(client: &Client, names: &Names) -> anyhow::Result<Vec<String>> {
    let mut out = names.names.clone();
    if let Some(re) = &names.regexp {
        let re = regex::Regex::new(&format!("^(?:{re})$"))
            .map_err(|e| anyhow!("-e {re}: not a valid regular expression: {e}"))?;
        let all = client.get("/connectors").await?;
        let mut matched: Vec<String> = all
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|n| re.is_match(n))
            .map(str::to_string)
            .collect();
        matched.sort();
        out.extend(matched);
    }
    if out.is_empty() {
        bail!("name at least one connector, or select them with -e REGEX");
    }
    Ok(out)
}

async fn simple(
    client: &Client,
    names: &Names,
    method: Method,
    suffix: &str,
    verb: &str,
    out: &mut String,
) -> anyhow::Result<()> {
    for n in select(client, names).await? {
        client
            .call(
                method.clone(),
                &format!("/connectors/{}{suffix}", seg(&n)),
                None,
            )
            .await?;
        out.push_str(&format!("{verb} connector {n}\n"));
    }
    Ok(())
}

fn str_of<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(n) => cur = n,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

async fn get(client: &Client, what: GetWhat, fmt: Format, out: &mut String) -> anyhow::Result<()> {
    match what {
        GetWhat::Connectors { regexp } => {
            let v = client.get("/connectors?expand=status&expand=info").await?;
            let re = match &regexp {
                Some(r) => Some(
                    regex::Regex::new(&format!("^(?:{r})$"))
                        .map_err(|e| anyhow!("-e {r}: not a valid regular expression: {e}"))?,
                ),
                None => None,
            };
            let mut rows: Vec<(String, String, String, String)> = Vec::new();
            let mut selected = Map::new();
            for (name, c) in v.as_object().into_iter().flatten() {
                if re.as_ref().is_some_and(|re| !re.is_match(name)) {
                    continue;
                }
                selected.insert(name.clone(), c.clone());
                let kind = match str_of(c, &["status", "type"]) {
                    "" => str_of(c, &["info", "type"]),
                    k => k,
                };
                let tasks: Vec<String> = c
                    .pointer("/status/tasks")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|t| {
                        format!(
                            "{}: {}",
                            t.get("id").and_then(Value::as_i64).unwrap_or(0),
                            str_of(t, &["state"])
                        )
                    })
                    .collect();
                rows.push((
                    kind.to_string(),
                    name.clone(),
                    str_of(c, &["status", "connector", "state"]).to_string(),
                    tasks.join(", "),
                ));
            }
            match fmt {
                Format::Table => {
                    rows.sort();
                    let rows: Vec<Vec<String>> = rows
                        .into_iter()
                        .map(|(kind, name, state, tasks)| vec![name, kind, state, tasks])
                        .collect();
                    out.push_str(&table(&["NAME", "TYPE", "STATE", "TASKS"], &rows));
                }
                f => out.push_str(&document(&Value::Object(selected), f)),
            }
        }
        GetWhat::Plugins { types } => {
            let v = client
                .get("/connector-plugins?connectorsOnly=false")
                .await?;
            let wanted: Option<Vec<String>> = types.map(|t| {
                t.split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
                    .filter(|s| !s.is_empty())
                    .collect()
            });
            let plugins: Vec<Value> = v
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| {
                    wanted
                        .as_ref()
                        .is_none_or(|w| w.iter().any(|t| t == str_of(p, &["type"])))
                })
                .cloned()
                .collect();
            match fmt {
                Format::Table => {
                    let mut rows: Vec<Vec<String>> = plugins
                        .iter()
                        .map(|p| {
                            vec![
                                str_of(p, &["type"]).to_string(),
                                str_of(p, &["class"]).to_string(),
                                str_of(p, &["version"]).to_string(),
                            ]
                        })
                        .collect();
                    rows.sort();
                    out.push_str(&table(&["TYPE", "CLASS", "VERSION"], &rows));
                }
                f => out.push_str(&document(&Value::Array(plugins), f)),
            }
        }
        GetWhat::Loggers => {
            let v = client.get("/admin/loggers").await?;
            match fmt {
                Format::Table => {
                    let rows: Vec<Vec<String>> = v
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(n, l)| vec![n.clone(), str_of(l, &["level"]).to_string()])
                        .collect();
                    out.push_str(&table(&["LOGGER", "LEVEL"], &rows));
                }
                f => out.push_str(&document(&v, f)),
            }
        }
        GetWhat::Offsets { name } => {
            let v = client
                .get(&format!("/connectors/{}/offsets", seg(&name)))
                .await?;
            out.push_str(&document(&v, fmt));
        }
    }
    Ok(())
}

/// A connector's info, status and topics as one document.
async fn describe(client: &Client, name: &str) -> anyhow::Result<Value> {
    let n = seg(name);
    let info = client.get(&format!("/connectors/{n}")).await?;
    let status = client.get(&format!("/connectors/{n}/status")).await?;
    // Topics are unknown when topic tracking is off; not an error for describe.
    let topics = match client.get(&format!("/connectors/{n}/topics")).await {
        Ok(t) => t
            .pointer(&format!(
                "/{}/topics",
                name.replace('~', "~0").replace('/', "~1")
            ))
            .cloned()
            .unwrap_or(Value::Array(vec![])),
        Err(_) => Value::Array(vec![]),
    };
    let tasks: Vec<Value> = status
        .get("tasks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| {
            let mut m = Map::new();
            m.insert("id".into(), t.get("id").cloned().unwrap_or(Value::Null));
            m.insert(
                "state".into(),
                t.get("state").cloned().unwrap_or(Value::Null),
            );
            m.insert(
                "worker_id".into(),
                t.get("worker_id").cloned().unwrap_or(Value::Null),
            );
            if let Some(tr) = t.get("trace") {
                m.insert("trace".into(), tr.clone());
            }
            Value::Object(m)
        })
        .collect();
    let kind = match str_of(&status, &["type"]) {
        "" => str_of(&info, &["type"]),
        k => k,
    };
    let mut d = Map::new();
    d.insert("name".into(), Value::String(name.to_string()));
    d.insert("type".into(), Value::String(kind.to_string()));
    d.insert(
        "state".into(),
        Value::String(str_of(&status, &["connector", "state"]).to_string()),
    );
    d.insert(
        "worker_id".into(),
        Value::String(str_of(&status, &["connector", "worker_id"]).to_string()),
    );
    if let Some(tr) = status.pointer("/connector/trace") {
        d.insert("trace".into(), tr.clone());
    }
    d.insert(
        "config".into(),
        info.get("config")
            .cloned()
            .unwrap_or(Value::Object(Map::new())),
    );
    d.insert("tasks".into(), Value::Array(tasks));
    d.insert("topics".into(), topics);
    Ok(Value::Object(d))
}

fn describe_text(d: &Value) -> String {
    let mut s = String::new();
    s.push_str(&format!("Name:        {}\n", str_of(d, &["name"])));
    s.push_str(&format!("Type:        {}\n", str_of(d, &["type"])));
    s.push_str(&format!("State:       {}\n", str_of(d, &["state"])));
    s.push_str(&format!("Worker ID:   {}\n", str_of(d, &["worker_id"])));
    if let Some(tr) = d.get("trace").and_then(Value::as_str) {
        s.push_str(&format!("Trace:       {tr}\n"));
    }
    s.push_str("Config:\n");
    let config: BTreeMap<&String, &Value> = d
        .get("config")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .collect();
    let width = config.keys().map(|k| k.len()).max().unwrap_or(0);
    for (k, v) in config {
        let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        s.push_str(&format!("  {k:width$}   {v}\n"));
    }
    s.push_str("Tasks:\n");
    for t in d
        .get("tasks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        s.push_str(&format!(
            "  {}:\n    State:       {}\n    Worker ID:   {}\n",
            t.get("id").and_then(Value::as_i64).unwrap_or(0),
            str_of(t, &["state"]),
            str_of(t, &["worker_id"])
        ));
        if let Some(tr) = t.get("trace").and_then(Value::as_str) {
            s.push_str(&format!("    Trace:       {tr}\n"));
        }
    }
    s.push_str("Topics:\n");
    for t in d
        .get("topics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        s.push_str(&format!("  {}\n", t.as_str().unwrap_or("")));
    }
    s
}

/// A connector file: JSON (`{"name", "config"}` or a flat map) or `.properties`.
fn read_connector_file(
    path: &Path,
    name: Option<&str>,
) -> anyhow::Result<(String, Map<String, Value>)> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading stdin")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    let is_properties = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("properties"));
    let mut config: Map<String, Value> = if is_properties {
        let props =
            sluice_properties::parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        props
            .to_map()
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    } else {
        let v: Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is neither valid JSON nor a .properties file",
                path.display()
            )
        })?;
        match v {
            Value::Object(mut o) => match o.remove("config") {
                Some(Value::Object(c)) => {
                    let mut c = c;
                    if let Some(n) = o.get("name") {
                        c.entry("name").or_insert(n.clone());
                    }
                    c
                }
                Some(_) => bail!("{}: \"config\" must be a JSON object", path.display()),
                None => o,
            },
            _ => bail!("{}: expected a JSON object", path.display()),
        }
    };
    let name = match name {
        Some(n) => n.to_string(),
        None => config
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                anyhow!(
                    "{}: the connector has no name (add a name key or use -n NAME)",
                    path.display()
                )
            })?,
    };
    config.insert("name".into(), Value::String(name.clone()));
    Ok((name, config))
}

async fn apply(
    client: &Client,
    path: &Path,
    name: Option<&str>,
    dry_run: bool,
    fmt: Format,
    out: &mut String,
) -> anyhow::Result<()> {
    let (name, config) = read_connector_file(path, name)?;
    let body = Value::Object(config.clone());
    if dry_run {
        let class = config
            .get("connector.class")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("connector {name}: connector.class is missing"))?;
        let v = client
            .call(
                Method::PUT,
                &format!("/connector-plugins/{}/config/validate", seg(class)),
                Some(&body),
            )
            .await?
            .body;
        let errors: Vec<(String, String)> = v
            .get("configs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|c| {
                let key = str_of(c, &["value", "name"]).to_string();
                c.pointer("/value/errors")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(move |e| (key.clone(), e.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        match fmt {
            Format::Table => {
                if errors.is_empty() {
                    out.push_str(&format!("Connector {name} is valid\n"));
                } else {
                    out.push_str(&format!(
                        "Connector {name} has {} error(s):\n",
                        errors.len()
                    ));
                    for (k, e) in &errors {
                        out.push_str(&format!("  {k}: {e}\n"));
                    }
                }
            }
            f => out.push_str(&document(&v, f)),
        }
        if !errors.is_empty() {
            bail!("validation of connector {name} failed");
        }
        return Ok(());
    }
    let a = client
        .call(
            Method::PUT,
            &format!("/connectors/{}/config", seg(&name)),
            Some(&body),
        )
        .await?;
    let verb = if a.status == StatusCode::CREATED {
        "Created"
    } else {
        "Updated"
    };
    out.push_str(&format!("{verb} connector {name}\n"));
    Ok(())
}

async fn offsets(
    client: &Client,
    command: OffsetsCommand,
    fmt: Format,
    out: &mut String,
) -> anyhow::Result<()> {
    let message = |v: &Value| {
        v.get("message")
            .and_then(Value::as_str)
            .map_or_else(|| v.to_string(), str::to_string)
    };
    match command {
        OffsetsCommand::Get { name } => {
            let v = client
                .get(&format!("/connectors/{}/offsets", seg(&name)))
                .await?;
            out.push_str(&document(&v, fmt));
        }
        OffsetsCommand::Patch {
            name,
            kafka_topic,
            kafka_partition,
            kafka_offset,
            source_partition,
            source_offset,
            file,
        } => {
            let body = if let Some(f) = file {
                let text = std::fs::read_to_string(&f)
                    .with_context(|| format!("reading {}", f.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("{} is not valid JSON", f.display()))?
            } else if let Some(topic) = kafka_topic {
                let partition = kafka_partition
                    .ok_or_else(|| anyhow!("--kafka-topic needs --kafka-partition"))?;
                json!({"offsets": [{
                    "partition": {"kafka_topic": topic, "kafka_partition": partition},
                    "offset": kafka_offset.map(|o| json!({"kafka_offset": o}))
                }]})
            } else if let Some(p) = source_partition {
                let partition: Value = serde_json::from_str(&p)
                    .map_err(|e| anyhow!("--source-partition {p}: not JSON: {e}"))?;
                let offset: Value = match source_offset {
                    Some(o) => serde_json::from_str(&o)
                        .map_err(|e| anyhow!("--source-offset {o}: not JSON: {e}"))?,
                    None => Value::Null,
                };
                json!({"offsets": [{"partition": partition, "offset": offset}]})
            } else {
                bail!("say which offsets: --kafka-topic/--kafka-partition/--kafka-offset, --source-partition/--source-offset, or -f FILE");
            };
            let a = client
                .call(
                    Method::PATCH,
                    &format!("/connectors/{}/offsets", seg(&name)),
                    Some(&body),
                )
                .await?;
            match fmt {
                Format::Table => out.push_str(&format!("{}\n", message(&a.body))),
                f => out.push_str(&document(&a.body, f)),
            }
        }
        OffsetsCommand::Reset { name } => {
            let a = client
                .call(
                    Method::DELETE,
                    &format!("/connectors/{}/offsets", seg(&name)),
                    None,
                )
                .await?;
            match fmt {
                Format::Table => out.push_str(&format!("{}\n", message(&a.body))),
                f => out.push_str(&document(&a.body, f)),
            }
        }
    }
    Ok(())
}
