//! Broker queues of one test: a unique name prefix, and deletion afterwards.

use lapin::options::QueueDeleteOptions;
use lapin::{Connection, ConnectionProperties};

use crate::database::skip;

/// Variable naming a RabbitMQ broker for the RabbitMQ half of the queue tests.
pub const AMQP_VAR: &str = "HANGAR_TEST_AMQP_URL";

/// A test's slice of the broker: queues named `<prefix>.jobs.<queue>`.
#[derive(Debug)]
pub struct TestBroker {
    /// The broker's URL.
    pub url: String,
    /// The prefix of this test's queue names.
    pub prefix: String,
    queues: Vec<String>,
}

impl TestBroker {
    /// A fresh prefix on the broker of `HANGAR_TEST_AMQP_URL`; `None` (after saying
    /// so) when it is not set.
    pub fn create(test: &str) -> Option<TestBroker> {
        let Ok(url) = std::env::var(AMQP_VAR) else {
            skip(
                test,
                &format!(
                    "RabbitMQ half not run: set {AMQP_VAR}=amqp://user:password@host:5672/%2f"
                ),
            );
            return None;
        };
        Some(TestBroker {
            url,
            prefix: format!(
                "hangar-test-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            ),
            queues: Vec::new(),
        })
    }

    /// Remembers the queues of a `queue.queues` setting, to delete them afterwards.
    pub fn watch_queues(&mut self, queues: &hangar_core::config::QueueList) {
        for queue in queues.items() {
            self.queues
                .push(format!("{}.jobs.{}", self.prefix, queue.name));
        }
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        if self.queues.is_empty() {
            return;
        }
        let (url, queues) = (self.url.clone(), std::mem::take(&mut self.queues));
        // Drop runs inside the test's runtime; delete from a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("build a runtime");
            runtime.block_on(async {
                let connection = Connection::connect(&url, ConnectionProperties::default()).await?;
                let channel = connection.create_channel().await?;
                for queue in queues {
                    channel
                        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                        .await?;
                }
                connection.close(200, "test done".into()).await
            })
        })
        .join();
    }
}
