#!/usr/bin/env python3
"""Scale scenario of scripts/bench.sh: many connectors on one worker, many tasks on a cluster.

  bench-scale.py --sluice BIN --tansu BIN [--connectors 1000] [--tasks 1000] [--work DIR]

One worker: N/2 FileStreamSource + N/2 FileStreamSink connectors created over REST, then the
worker is restarted so that all N start together from its connectors file. Reported: time from
process start to every connector and task RUNNING, idle RSS, threads, per connector, and both
by kind (thread names; /proc/<pid>/smaps mappings). --own-producers gives every source task a
producer of its own, as before producers were shared.

Cluster: three distributed workers, TASKS tasks (FileStreamSink connectors of 50 tasks each).
Reported: time until every task runs after the start; RSS and threads of the three workers
once no task has moved for 10 s, and how the tasks are spread then; the time until every task
runs again after the worker with the most tasks is killed (kill -9; its work moves after
scheduled.rebalance.max.delay.ms, set to 0 here), and until a fourth worker that joins runs
a task.

Each part runs against a fresh broker of its own (the single-worker part leaves 1,000 topics
and 500 consumer groups behind, which would otherwise load the cluster part's broker). Worker
processes are killed when a part fails. Prints a Markdown table; standard library only. Every
wait has a deadline.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request


# Every worker process started, killed if a part fails (none is left running).
WORKERS = []


def worker_process(cmd, log, env):
    p = subprocess.Popen(cmd, stderr=open(log, "w"), env=env)
    WORKERS.append(p)
    return p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline=60):
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port} after {deadline}s")


def call(port, method, path, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    # A cluster refuses writes with 409 while it rebalances (as Kafka Connect does): retry them.
    end = time.time() + 300
    while True:
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                text = r.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            if e.code != 409 or time.time() > end:
                raise SystemExit(f"{method} {path} on port {port}: {e.code} {e.read()[:2000]!r}")
        time.sleep(0.5)


def all_running(port, expect_connectors, expect_tasks):
    try:
        st = call(port, "GET", "/connectors?expand=status", timeout=30)
    except Exception:
        return False
    if len(st) < expect_connectors:
        return False
    tasks = 0
    for c in st.values():
        s = c["status"]
        if s["connector"]["state"] != "RUNNING":
            return False
        for t in s["tasks"]:
            if t["state"] != "RUNNING":
                return False
            tasks += 1
    return tasks >= expect_tasks


def wait_all_running(port, connectors, tasks, deadline=600):
    start = time.time()
    while time.time() - start < deadline:
        if all_running(port, connectors, tasks):
            return time.time() - start
        time.sleep(0.1)
    raise SystemExit(f"not all {connectors} connectors / {tasks} tasks RUNNING after {deadline}s")


def rss_threads(pid):
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads


def thread_kinds(pid):
    """Threads by kind, from their names (Linux keeps the first 15 bytes)."""
    kinds = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        if name.startswith("rdk:"):
            kind = "librdkafka " + name.split("/")[0].rstrip("0123456789")
        elif name.startswith("task "):
            kind = "task"
        elif name.startswith("tasks ") and "-blocki" not in name:
            kind = "shared task thread"
        elif name.endswith("-blocking") or "-blocki" in name:
            kind = "task blocking pool"
        elif name.startswith("tokio-runtime"):
            kind = "worker runtime"
        else:
            kind = "other"
        kinds[kind] = kinds.get(kind, 0) + 1
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1]))


def rss_kinds(pid):
    """Resident KiB by kind of mapping: thread stacks (anonymous mappings of 2 or 8 MiB with
    a guard page), the main heap, other anonymous memory (malloc arenas, mmap'd blocks) and
    files (the binary and libraries)."""
    kinds = {}
    name = None
    size = 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and len(parts) >= 5 and ":" in parts[3]:
                name = parts[5] if len(parts) >= 6 else ""
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                size = (hi - lo) // 1024
            elif parts[0] == "Rss:":
                kb = int(parts[1])
                if name == "[heap]":
                    kind = "main heap"
                elif name == "":
                    kind = "thread stacks" if size in (2044, 2048, 8188, 8192) else "other anonymous"
                elif name.startswith("["):
                    kind = "other"
                else:
                    kind = "files"
                kinds[kind] = kinds.get(kind, 0) + kb
    return {k: round(v / 1024, 1) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])}


def tansu(binary, port, log):
    p = subprocess.Popen(
        [binary, "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
         "--advertised-listener-url", f"tcp://127.0.0.1:{port}",
         "--storage-engine", f"memory://scale-{port}/"],
        stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    wait_port(port)
    return p


def one_worker(args, bootstrap):
    work = os.path.join(args.work, "standalone")
    os.makedirs(work, exist_ok=True)
    worker = os.path.join(work, "worker.properties")
    with open(worker, "w") as f:
        f.write(f"""bootstrap.servers={bootstrap}
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename={work}/offsets
offset.flush.interval.ms=10000
""")
    port = free_port()
    cmd = [args.sluice, "standalone", "--listeners", f"http://127.0.0.1:{port}", worker]
    env = dict(os.environ, RUST_LOG="warn")
    p = worker_process(cmd, os.path.join(work, "w1.log"), env)
    wait_port(port)
    half = args.connectors // 2
    for i in range(half):
        path = os.path.join(work, f"in-{i}.txt")
        with open(path, "w") as f:
            f.write(f"line {i}\n")
        source = {"connector.class": "FileStreamSource", "file": path, "topic": f"scale-{i}"}
        if args.own_producers:
            # Any producer.override.* key gives a task a producer of its own (the default
            # value here, so only the sharing changes).
            source["producer.override.acks"] = "all"
        call(port, "POST", "/connectors", {"name": f"src-{i}", "config": source})
        call(port, "POST", "/connectors", {"name": f"sink-{i}", "config": {
            "connector.class": "FileStreamSink", "topics": f"scale-{i}",
            "file": os.path.join(work, f"out-{i}.txt")}})
    wait_all_running(port, 2 * half, 2 * half)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=120)

    # Every connector starts together from the connectors file.
    port = free_port()
    cmd = [args.sluice, "standalone", "--listeners", f"http://127.0.0.1:{port}", worker]
    t0 = time.time()
    p = worker_process(cmd, os.path.join(work, "w2.log"), env)
    wait_port(port)
    wait_all_running(port, 2 * half, 2 * half)
    started = time.time() - t0
    # Idle: let start-up allocations settle, then read.
    time.sleep(5)
    rss, threads = rss_threads(p.pid)
    kinds = thread_kinds(p.pid)
    memory = rss_kinds(p.pid)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=300)
    n = 2 * half
    return {
        "connectors": n,
        "start_to_all_running_s": round(started, 2),
        "idle_rss_mib": round(rss / 1024, 1),
        "rss_per_connector_kib": round(rss / n, 1),
        "threads": threads,
        "threads_per_connector": round(threads / n, 2),
        "threads_by_kind": ", ".join(f"{k} {v}" for k, v in kinds.items()),
        "rss_mib_by_kind": ", ".join(f"{k} {v}" for k, v in memory.items()),
    }


def task_placement(port):
    """Task id -> worker id, from the status of every connector."""
    st = call(port, "GET", "/connectors?expand=status")
    return {f"{name}-{t['id']}": t["worker_id"] for name, c in st.items() for t in c["status"]["tasks"]}


def cluster(args, bootstrap):
    work = os.path.join(args.work, "cluster")
    os.makedirs(work, exist_ok=True)
    group = f"scale-{os.getpid()}"
    worker = os.path.join(work, "worker.properties")
    with open(worker, "w") as f:
        f.write(f"""bootstrap.servers={bootstrap}
group.id={group}
config.storage.topic={group}-configs
offset.storage.topic={group}-offsets
status.storage.topic={group}-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
scheduled.rebalance.max.delay.ms=0
""")
    env = dict(os.environ, RUST_LOG="warn")
    workers = []

    def spawn(i):
        port = free_port()
        p = worker_process([args.sluice, "distributed", "--listeners", f"http://127.0.0.1:{port}", worker],
                           os.path.join(work, f"w{i}.log"), env)
        wait_port(port)
        workers.append((p, port))
        return port

    ports = [spawn(i) for i in range(3)]
    per = 50
    connectors = max(1, args.tasks // per)
    t0 = time.time()
    for i in range(connectors):
        call(ports[0], "POST", "/connectors", {"name": f"c-{i}", "config": {
            "connector.class": "FileStreamSink", "topics": f"cl-{i}", "tasks.max": str(per),
            "file": os.path.join(work, f"out-{i}.txt")}}, timeout=120)
    wait_all_running(ports[1], connectors, connectors * per)
    start = time.time() - t0
    # Idle: wait until no task moves for 10 s (a worker that was out of the group while
    # connectors were created gets its share by later rebalances), then read the workers.
    placement, still_since, end = None, time.time(), time.time() + 180
    while time.time() < end and time.time() - still_since < 10:
        now = task_placement(ports[1])
        if now != placement:
            placement, still_since = now, time.time()
        time.sleep(1)
    settled = time.time() - t0 - start
    rss = threads = 0
    for p, _ in workers:
        r, t = rss_threads(p.pid)
        rss += r
        threads += t
    tasks = connectors * per

    # The victim is the worker running the most tasks (a worker with none would time nothing).
    held = {}
    for w in task_placement(ports[1]).values():
        held[w] = held.get(w, 0) + 1
    index = max(range(len(workers)), key=lambda i: held.get(f"127.0.0.1:{workers[i][1]}", 0))
    victim, victim_port = workers.pop(index)
    gone = f"127.0.0.1:{victim_port}"
    killed_tasks = held.get(gone, 0)
    t0 = time.time()
    victim.kill()
    victim.wait()
    # The statuses the killed worker wrote say RUNNING until a survivor runs its work: wait
    # until every task runs again on a survivor.
    end = time.time() + 600
    while time.time() < end:
        if all_running(workers[0][1], connectors, connectors * per):
            st = call(workers[0][1], "GET", "/connectors?expand=status")
            if not any(c["status"]["connector"]["worker_id"] == gone
                       or any(t["worker_id"] == gone for t in c["status"]["tasks"])
                       for c in st.values()):
                break
        time.sleep(0.1)
    else:
        raise SystemExit("the killed worker's tasks did not run again within 600 s")
    after_kill = time.time() - t0

    t0 = time.time()
    spawn(3)
    # All running again, and the newcomer runs a share of the tasks.
    newcomer = f"127.0.0.1:{workers[-1][1]}"
    end = time.time() + 600
    while time.time() < end:
        if all_running(workers[0][1], connectors, connectors * per):
            st = call(workers[0][1], "GET", "/connectors?expand=status")
            if any(t["worker_id"] == newcomer for c in st.values() for t in c["status"]["tasks"]):
                break
        time.sleep(0.1)
    else:
        raise SystemExit("the fourth worker was given no task within 600 s")
    after_join = time.time() - t0
    for p, _ in workers:
        p.send_signal(signal.SIGTERM)
    for p, _ in workers:
        p.wait(timeout=300)
    return {
        "tasks": connectors * per,
        "start_to_all_running_s": round(start, 2),
        "placement_settled_after_s": round(settled, 2),
        "tasks_per_worker": "/".join(str(n) for n in sorted(held.values(), reverse=True)),
        "idle_rss_mib_three_workers": round(rss / 1024, 1),
        "rss_per_task_kib": round(rss / tasks, 1),
        "threads_three_workers": threads,
        "threads_per_task": round(threads / tasks, 2),
        "tasks_on_killed_worker": killed_tasks,
        "after_kill9_all_running_s": round(after_kill, 2),
        "after_join_rebalanced_s": round(after_join, 2),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--tansu", required=True)
    ap.add_argument("--connectors", type=int, default=1000)
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--work", default="/tmp/sluice-bench-scale")
    ap.add_argument("--skip-cluster", action="store_true")
    ap.add_argument("--skip-single", action="store_true")
    ap.add_argument("--own-producers", action="store_true",
                    help="give every source task a producer of its own (as before sharing)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    if not args.skip_single:
        single = with_broker(args, "single", one_worker)
        print("| One worker | value |\n|---|---:|")
        for k, v in single.items():
            print(f"| {k} | {v} |")
        sys.stdout.flush()
    if not args.skip_cluster:
        multi = with_broker(args, "cluster", cluster)
        print("\n| Three-worker cluster | value |\n|---|---:|")
        for k, v in multi.items():
            print(f"| {k} | {v} |")


def with_broker(args, part, run):
    """Runs one part against a fresh broker of its own, stopped afterwards."""
    port = free_port()
    broker = tansu(args.tansu, port, os.path.join(args.work, f"tansu-{part}.log"))
    try:
        return run(args, f"127.0.0.1:{port}")
    finally:
        for p in WORKERS:
            if p.poll() is None:
                p.kill()
                p.wait()
        broker.terminate()
        broker.wait()


if __name__ == "__main__":
    main()
