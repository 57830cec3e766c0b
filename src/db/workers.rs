//! The threads that run database work: as many as the pool has connections. More
//! would only wait for a connection (each holding a stack and, with glibc, a malloc
//! arena of its own: the blocking pool of `web::block` grew to about 80 threads at 32
//! connections); fewer would leave connections idle. Work queues in order; a panic in
//! one job is that job's error and the thread goes on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

/// A job: runs on one of the threads.
type Job = Box<dyn FnOnce() + Send>;

/// The threads; they end when the last clone of this is dropped. Should the system
/// refuse every thread, work runs on actix-web's blocking pool instead.
#[derive(Clone)]
pub struct Workers {
    queue: Option<Arc<Mutex<Sender<Job>>>>,
}

impl Workers {
    /// `n` threads named `name`.
    pub fn start(n: u32, name: &str) -> Self {
        let (queue, jobs) = channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let mut started = 0;
        for i in 0..n.max(1) {
            let jobs = jobs.clone();
            match std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || work(&jobs))
            {
                Ok(_) => started += 1,
                Err(e) => tracing::error!(error = %e, "could not start a database thread"),
            }
        }
        Self {
            queue: (started > 0).then(|| Arc::new(Mutex::new(queue))),
        }
    }

    /// Runs `f` on one of the threads; `None` when it panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let Some(queue) = &self.queue else {
            return actix_web::web::block(f).await.ok();
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            if let Ok(out) = catch_unwind(AssertUnwindSafe(f)) {
                let _ = tx.send(out);
            }
        });
        let sent = queue.lock().ok()?.send(job);
        sent.ok()?;
        rx.await.ok()
    }
}

/// A thread's life: the next job, until the queue is gone.
fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
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
}
