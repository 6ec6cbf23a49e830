//! Task drivers: the loops that move records between a task and Kafka. They own conversion,
//! transforms, offset commits and failure handling; tasks only poll or put.

pub mod sink;
pub mod source;

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use sluice_api::ConnectError;

use crate::status::{State, StatusStore};

/// `<connector>-<task>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    pub connector: String,
    pub task: u32,
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// What a connector and its tasks should be doing (`TargetState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetState {
    Started,
    Paused,
    Stopped,
}

impl TargetState {
    /// The config topic's `state.v2` name.
    pub fn name(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }
}

/// Worker-wide settings the drivers use.
#[derive(Clone, Debug)]
pub struct TaskSettings {
    pub offset_flush_interval: Duration,
    pub offset_flush_timeout: Duration,
}

/// How long a thread of a task's blocking pool waits for more work before it ends.
const TASK_POOL_KEEP_ALIVE: Duration = Duration::from_secs(1);
/// I/O events a task's runtime takes per tick (more wait for the next tick).
const TASK_IO_EVENTS_PER_TICK: usize = 64;

/// Turns a panic payload into a message.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Starts a task's driver under [`supervise`] on a thread of its own, with a single-threaded
/// tokio runtime, as Kafka Connect gives each task a thread of its own. A task's records, its
/// client's buffers and its allocator cache then stay on one core: on the worker's shared
/// multi-threaded runtime every wake-up of a task (a file read done, a channel between its
/// poller and its driver) could hand it to another worker thread: a FileStreamSource task
/// moving 3 M lines ran about half on each of the two worker threads, with 4,200 to 4,900
/// context switches between them, against 280 to 840 on a thread of its own. It also keeps a
/// task that blocks its thread (a connector doing blocking I/O in `poll`) from stalling other
/// tasks or the REST API.
///
/// The returned handle lives on the caller's runtime: awaiting it waits for the task's end;
/// aborting it drops the driver on its thread (a caller that awaits the handle inside a
/// future of its own can tie the two together with [`AbortOnDrop`]). If the thread or its runtime cannot be
/// created (the system is out of threads), the driver runs on the caller's runtime instead and
/// a warning says so.
pub fn spawn<F>(id: TaskId, status: StatusStore, driver: F) -> tokio::task::JoinHandle<()>
where
    F: Future<Output = Result<(), ConnectError>> + Send + 'static,
{
    let worker = tokio::runtime::Handle::current();
    let runtime = match task_runtime(&format!("{id}-blocking")) {
        Ok(rt) => rt,
        Err(e) => {
            tracing::warn!(task = %id, error = %e, "Could not create the task's own runtime; running it on the worker's.");
            return tokio::spawn(supervise(id, status, driver));
        }
    };
    // Dropped when the returned handle's task is aborted (or ends): the thread then drops the
    // driver.
    let (abort_tx, abort_rx) = tokio::sync::oneshot::channel::<()>();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    // The driver waits in a slot the thread takes it from, so that a thread that cannot be
    // started leaves it here to run on the caller's runtime. It is boxed: moving the driver's
    // future out of the slot and into `block_on` left copies of it in the thread's stack,
    // resident for the task's life (a task thread's stack: 78 KiB resident unboxed, 30 KiB
    // boxed; docs/performance.md, "Scale").
    let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(Box::pin(supervise(
        id.clone(),
        status,
        driver,
    )))));
    let theirs = slot.clone();
    let spawned = std::thread::Builder::new()
        // Linux shows the first 15 bytes of a thread's name.
        .name(format!("task {id}"))
        .spawn(move || {
            WORKER_RUNTIME.with(|w| *w.borrow_mut() = Some(worker));
            if let Some(supervised) = take(&theirs) {
                runtime.block_on(async move {
                    tokio::select! {
                        () = supervised => {}
                        _ = abort_rx => {}
                    }
                });
            }
            // Blocking reads still running (a file read, a client being closed) finish on
            // their own threads; the task does not wait for them.
            runtime.shutdown_background();
            let _ = done_tx.send(());
        });
    match spawned {
        Ok(_) => tokio::spawn(async move {
            let _abort = abort_tx;
            let _ = done_rx.await;
        }),
        Err(e) => {
            tracing::warn!(task = %id, error = %e, "Could not start the task's thread; running it on the worker's runtime.");
            let taken = take(&slot);
            tokio::spawn(async move {
                if let Some(supervised) = taken {
                    supervised.await;
                }
            })
        }
    }
}

/// At most this many shared task threads (see [`spawn_shared`]).
pub const SHARED_TASK_THREADS: usize = 64;

/// One shared task thread: a single-threaded runtime driven by a thread of its own for the
/// process's life, and how many tasks run on it now.
struct SharedThread {
    handle: tokio::runtime::Handle,
    tasks: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

static SHARED: std::sync::Mutex<Vec<SharedThread>> = std::sync::Mutex::new(Vec::new());

/// The single-threaded runtime a task thread (its own or a shared one) drives; its blocking
/// pool's threads are named `blocking`.
fn task_runtime(blocking: &str) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name(blocking)
        // A task uses its blocking pool in bursts (opening a file, a stream of reads); an
        // idle task holds no pool thread beyond a second (tokio's default is ten, and a
        // worker runs hundreds of tasks).
        .thread_keep_alive(TASK_POOL_KEEP_ALIVE)
        // A task waits on a few sockets at most; tokio's default of 1,024 events a tick
        // allocated 12 KiB per task (docs/performance.md, "Scale").
        .max_io_events_per_tick(TASK_IO_EVENTS_PER_TICK)
        .build()
}

/// Starts a shared task thread; `None` (logged) when the system cannot give one.
fn new_shared_thread(n: usize) -> Option<SharedThread> {
    let runtime = match task_runtime(&format!("tasks {n}-blocking")) {
        Ok(rt) => rt,
        Err(e) => {
            tracing::warn!(error = %e, "Could not create a shared task runtime.");
            return None;
        }
    };
    let handle = runtime.handle().clone();
    let spawned = std::thread::Builder::new()
        .name(format!("tasks {n}"))
        // Runs the tasks spawned onto it, forever.
        .spawn(move || runtime.block_on(std::future::pending::<()>()));
    match spawned {
        Ok(_) => Some(SharedThread {
            handle,
            tasks: Default::default(),
        }),
        Err(e) => {
            tracing::warn!(error = %e, "Could not start a shared task thread.");
            None
        }
    }
}

/// Counts a task on its shared thread while it lives (also when it is aborted).
struct OnSharedThread(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for OnSharedThread {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Polls a task's driver with the thread-local [`worker_runtime`] set to its worker's, as a
/// task thread of its own has it set for its life.
struct WithWorker<F> {
    worker: Option<tokio::runtime::Handle>,
    inner: std::pin::Pin<Box<F>>,
}

impl<F: Future> Future for WithWorker<F> {
    type Output = F::Output;
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        // Both fields are Unpin (a handle and a box).
        let this = self.get_mut();
        let previous = WORKER_RUNTIME.with(|w| w.replace(this.worker.take()));
        let out = this.inner.as_mut().poll(cx);
        this.worker = WORKER_RUNTIME.with(|w| w.replace(previous));
        out
    }
}

/// Starts a task's driver under [`supervise`] on one of the worker's shared task threads,
/// for tasks whose plugin allows it (`ConnectorPlugin::shares_thread`: tasks that never block
/// their thread for long and leave nothing running when dropped). While fewer than
/// [`SHARED_TASK_THREADS`] such tasks run, each still gets a thread of its own (an idle
/// shared thread first, else a new one); beyond that, a task joins the thread with the
/// fewest tasks. A task thread costs about 60 KiB resident (stack, its static TLS, a
/// runtime), which 1,000 tasks on one worker paid a thousand times (docs/performance.md,
/// "Scale"). A failing or panicking task still fails alone ([`supervise`]); a task that blocks
/// would hold up the others on its thread, which is why only such plugins share. Falls back to
/// [`spawn`] when no shared thread can be had.
pub fn spawn_shared<F>(id: TaskId, status: StatusStore, driver: F) -> tokio::task::JoinHandle<()>
where
    F: Future<Output = Result<(), ConnectError>> + Send + 'static,
{
    use std::sync::atomic::Ordering;
    let picked = {
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        let least = shared
            .iter()
            .enumerate()
            .min_by_key(|(_, t)| t.tasks.load(Ordering::Relaxed))
            .map(|(i, t)| (i, t.tasks.load(Ordering::Relaxed)));
        let index = match least {
            Some((i, 0)) => Some(i),
            Some((i, _)) if shared.len() >= SHARED_TASK_THREADS => Some(i),
            _ => match new_shared_thread(shared.len()) {
                Some(t) => {
                    shared.push(t);
                    Some(shared.len() - 1)
                }
                None => least.map(|(i, _)| i),
            },
        };
        index.and_then(|i| shared.get(i)).map(|t| {
            t.tasks.fetch_add(1, Ordering::Relaxed);
            (t.handle.clone(), OnSharedThread(t.tasks.clone()))
        })
    };
    let Some((thread, counted)) = picked else {
        return spawn(id, status, driver);
    };
    let worker = tokio::runtime::Handle::current();
    let supervised = WithWorker {
        worker: Some(worker),
        inner: Box::pin(supervise(id, status, driver)),
    };
    thread.spawn(async move {
        let _counted = counted;
        supervised.await
    })
}

thread_local! {
    /// On a task's thread: the runtime of the worker that started it.
    static WORKER_RUNTIME: std::cell::RefCell<Option<tokio::runtime::Handle>> =
        const { std::cell::RefCell::new(None) };
}

/// The worker's shared runtime (the current one when not called on a task's thread). A
/// task's periodic background work that does not need its thread runs there, so that a task
/// holds no thread beyond its own: work that blocks goes to the worker's one blocking pool,
/// whose threads serve every task, instead of keeping a pool thread per task alive.
pub fn worker_runtime() -> tokio::runtime::Handle {
    WORKER_RUNTIME
        .with(|w| w.borrow().clone())
        .unwrap_or_else(tokio::runtime::Handle::current)
}

/// Takes what `slot` holds (a poisoned slot still holds a valid value: nothing panics while it
/// is locked).
fn take<T>(slot: &std::sync::Mutex<Option<T>>) -> Option<T> {
    match slot.lock() {
        Ok(mut s) => s.take(),
        Err(p) => p.into_inner().take(),
    }
}

/// Aborts a spawned task when dropped: a task awaited inside another (distributed mode's
/// `run_task`) then ends with the future that awaits it, as if it ran inline.
pub struct AbortOnDrop(pub tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs a task driver; an error or a panic becomes a FAILED status with its trace, and the
/// worker carries on.
pub async fn supervise<F>(id: TaskId, status: StatusStore, driver: F)
where
    F: Future<Output = Result<(), ConnectError>>,
{
    match AssertUnwindSafe(driver).catch_unwind().await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(task = %id, error = %e, "Task threw an uncaught and unrecoverable exception. Task is being killed and will not recover until manually restarted.");
            status.put_task(&id.connector, id.task, State::Failed, Some(e.trace()));
        }
        Err(payload) => {
            let msg = panic_message(payload.as_ref());
            tracing::error!(task = %id, panic = %msg, "Task panicked. Task is being killed and will not recover until manually restarted.");
            status.put_task(
                &id.connector,
                id.task,
                State::Failed,
                Some(format!(
                    "org.apache.kafka.connect.errors.ConnectException: Task panicked: {msg}"
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn id() -> TaskId {
        TaskId {
            connector: "c".to_string(),
            task: 0,
        }
    }

    fn store() -> StatusStore {
        let status = StatusStore::new("w:1");
        status.put_connector("c", None, State::Running, None);
        status
    }

    #[tokio::test]
    async fn a_task_runs_on_a_thread_of_its_own_and_its_failure_is_reported() {
        let status = store();
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = spawn(id(), status.clone(), async move {
            let _ = tx.send(std::thread::current().name().map(str::to_string));
            Err(ConnectError::fatal("boom"))
        });
        handle.await.unwrap();
        let ran_on = rx.recv().unwrap();
        assert_eq!(ran_on.as_deref(), Some("task c-0"));
        assert_ne!(
            std::thread::current().name(),
            ran_on.as_deref(),
            "not the caller's thread"
        );
        let task = status.get("c").unwrap().tasks[&0].clone();
        assert_eq!(task.state, State::Failed);
        assert!(task.trace.unwrap().contains("boom"));
    }

    /// Tasks of plugins that share threads: beyond [`SHARED_TASK_THREADS`] they share; a
    /// panicking one fails alone while another on its thread goes on; each sees its worker's
    /// runtime; aborting one drops it.
    #[tokio::test]
    async fn shared_task_threads_are_bounded_and_a_failure_stays_with_its_task() {
        let status = StatusStore::new("w:1");
        let n = SHARED_TASK_THREADS + 16;
        let mut names = std::collections::BTreeSet::new();
        let mut handles = Vec::new();
        let (gone_tx, gone_rx) = std::sync::mpsc::channel::<()>();
        for i in 0..n {
            let task = TaskId {
                connector: "shared".to_string(),
                task: i as u32,
            };
            status.put_connector("shared", None, State::Running, None);
            let (tx, rx) = tokio::sync::oneshot::channel();
            let gone = gone_tx.clone();
            handles.push(spawn_shared(task, status.clone(), async move {
                struct Gone(std::sync::mpsc::Sender<()>);
                impl Drop for Gone {
                    fn drop(&mut self) {
                        let _ = self.0.send(());
                    }
                }
                let _gone = Gone(gone);
                let here = std::thread::current().name().map(str::to_string);
                let worker = worker_runtime()
                    .spawn(async { std::thread::current().name().map(str::to_string) })
                    .await
                    .ok()
                    .flatten();
                let _ = tx.send((here, worker));
                std::future::pending::<()>().await;
                Ok(())
            }));
            let (here, worker) = rx.await.unwrap();
            let here = here.unwrap_or_default();
            assert!(here.starts_with("tasks "), "{here}");
            assert_eq!(worker.as_deref(), std::thread::current().name());
            names.insert(here);
        }
        assert!(
            names.len() <= SHARED_TASK_THREADS,
            "{} threads",
            names.len()
        );
        // A task that panics on a thread others use fails alone.
        status.put_connector("c", None, State::Running, None);
        let (ok_tx, ok_rx) = tokio::sync::oneshot::channel();
        let bad = spawn_shared(id(), status.clone(), async {
            let v: Vec<u8> = Vec::new();
            let _ = v[usize::from(v.is_empty())];
            Ok(())
        });
        bad.await.unwrap();
        assert_eq!(status.get("c").unwrap().tasks[&0].state, State::Failed);
        let after = spawn_shared(
            TaskId {
                connector: "shared".to_string(),
                task: n as u32,
            },
            status.clone(),
            async move {
                let _ = ok_tx.send(());
                Ok(())
            },
        );
        ok_rx.await.unwrap();
        after.await.unwrap();
        for h in &handles {
            assert!(!h.is_finished(), "the other tasks still run");
        }
        for h in handles {
            h.abort();
            assert!(h.await.unwrap_err().is_cancelled());
        }
        drop(gone_tx);
        assert_eq!(
            gone_rx.iter().count(),
            n,
            "every aborted driver was dropped"
        );
    }

    #[tokio::test]
    async fn a_panicking_task_fails_and_the_caller_carries_on() {
        let status = store();
        let handle = spawn(id(), status.clone(), async {
            let v: Vec<u8> = Vec::new();
            // An index out of bounds, as connector code might do.
            let _ = v[usize::from(v.is_empty())];
            Ok(())
        });
        handle.await.unwrap();
        let task = status.get("c").unwrap().tasks[&0].clone();
        assert_eq!(task.state, State::Failed);
        assert!(task.trace.unwrap().contains("Task panicked"));
    }

    #[tokio::test]
    async fn aborting_the_handle_drops_the_driver_on_its_thread() {
        struct Dropped(std::sync::mpsc::Sender<()>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                let _ = self.0.send(());
            }
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let handle = spawn(id(), store(), async move {
            let _guard = Dropped(tx);
            let _ = started_tx.send(());
            std::future::pending::<()>().await;
            Ok(())
        });
        started_rx.await.unwrap();
        handle.abort();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match rx.try_recv() {
                Ok(()) => break,
                Err(std::sync::mpsc::TryRecvError::Empty) if Instant::now() < deadline => {
                    tokio::task::yield_now().await;
                    std::thread::yield_now();
                }
                Err(e) => panic!("the driver was not dropped: {e}"),
            }
        }
    }
}
