//! The threads that run database work: as many as the pool has connections. More
//! would only wait for a connection (each holding a stack and, with glibc, a malloc
//! arena of its own: the blocking pool of `web::block` grew to about 80 threads at 32
//! connections); fewer would leave connections idle. Work queues in order; a panic in
//! one job is that job's error and the thread goes on.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex};

/// A job: runs on one of the threads.
type Job = Box<dyn FnOnce() + Send>;

/// Jobs in order, and the condition idle threads wait on. A job wakes one thread; the
/// lock is held only to push or pop (a shared `Receiver` behind a mutex would keep one
/// thread blocked inside the lock and make the others queue on it).
#[derive(Default)]
struct Queue {
    jobs: Mutex<Jobs>,
    ready: Condvar,
}

#[derive(Default)]
struct Jobs {
    waiting: VecDeque<Job>,
    closed: bool,
}

/// The threads; they end when the last clone of this is dropped. Should the system
/// refuse every thread, work runs on actix-web's blocking pool instead.
#[derive(Clone)]
pub struct Workers {
    queue: Option<Arc<Closer>>,
}

/// Closes the queue when the last `Workers` clone goes: threads finish what is queued,
/// then end.
struct Closer(Arc<Queue>);

impl Drop for Closer {
    fn drop(&mut self) {
        if let Ok(mut jobs) = self.0.jobs.lock() {
            jobs.closed = true;
        }
        self.0.ready.notify_all();
    }
}

impl Workers {
    /// `n` threads named `name`.
    pub fn start(n: u32, name: &str) -> Self {
        let queue = Arc::new(Queue::default());
        let mut started = 0;
        for i in 0..n.max(1) {
            let queue = queue.clone();
            match std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || work(&queue))
            {
                Ok(_) => started += 1,
                Err(e) => tracing::error!(error = %e, "could not start a database thread"),
            }
        }
        Self {
            queue: (started > 0).then(|| Arc::new(Closer(queue))),
        }
    }

    /// Runs `f` on one of the threads; `None` when it panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let Some(closer) = &self.queue else {
            return actix_web::web::block(f).await.ok();
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            if let Ok(out) = catch_unwind(AssertUnwindSafe(f)) {
                let _ = tx.send(out);
            }
        });
        let queue = &closer.0;
        queue.jobs.lock().ok()?.waiting.push_back(job);
        queue.ready.notify_one();
        rx.await.ok()
    }
}

/// A thread's life: the next job, until the queue is closed and empty.
fn work(queue: &Queue) {
    loop {
        let job = {
            let Ok(mut jobs) = queue.jobs.lock() else {
                return;
            };
            loop {
                if let Some(job) = jobs.waiting.pop_front() {
                    break job;
                }
                if jobs.closed {
                    return;
                }
                jobs = match queue.ready.wait(jobs) {
                    Ok(jobs) => jobs,
                    Err(_) => return,
                };
            }
        };
        job();
    }
}

#[cfg(test)]
mod tests {
    use super::Workers;

    #[actix_web::test]
    async fn jobs_run_on_the_named_threads_and_a_panic_is_one_jobs_error() {
        let workers = Workers::start(2, "db-test");
        let name = workers
            .run(|| std::thread::current().name().map(str::to_owned))
            .await;
        assert!(name.flatten().is_some_and(|n| n.starts_with("db-test-")));
        let panicked = workers.run(|| -> u8 { panic!("a job fails") }).await;
        assert_eq!(panicked, None);
        // Both threads still work.
        let sum: u32 = futures_util::future::join_all((0..8).map(|i| workers.run(move || i)))
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .sum();
        assert_eq!(sum, 28);
    }

    #[test]
    fn threads_end_once_the_last_handle_is_gone() {
        let workers = Workers::start(3, "db-test-end");
        let queue = workers.queue.as_ref().map(|c| c.0.clone()).unwrap();
        assert_eq!(std::sync::Arc::strong_count(&queue), 5);
        drop(workers.clone());
        assert_eq!(
            std::sync::Arc::strong_count(&queue),
            5,
            "a clone's drop closes nothing"
        );
        drop(workers);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::sync::Arc::strong_count(&queue) > 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "threads still running"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
