//! Test operators (`test.emit`, `test.add`, ...) and an app of test pipelines,
//! shared by the pipeline tests of the platform and of the binary.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use hangar_app::{App, AppContext, Apps};
use hangar_pipeline::operator::{Operator, TaskContext, TaskError};
use hangar_pipeline::{PipelineError, PipelineRegistry, Pipelines, RunView, TriggeredBy};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// `test.emit`: outputs its `value` setting.
struct Emit;

impl Operator for Emit {
    fn check(&self, _config: &Map<String, Value>) -> Result<(), String> {
        Ok(())
    }

    fn run<'a>(&'a self, task: TaskContext<'a>) -> BoxFuture<'a, Result<Value, TaskError>> {
        Box::pin(async move { Ok(task.config.get("value").cloned().unwrap_or(Value::Null)) })
    }
}

/// `test.add`: the sum of its upstream outputs and its `plus` setting.
struct Add;

impl Operator for Add {
    fn check(&self, _config: &Map<String, Value>) -> Result<(), String> {
        Ok(())
    }

    fn run<'a>(&'a self, task: TaskContext<'a>) -> BoxFuture<'a, Result<Value, TaskError>> {
        Box::pin(async move {
            let upstream: f64 = task.upstream.values().filter_map(Value::as_f64).sum();
            let plus = task
                .config
                .get("plus")
                .and_then(Value::as_f64)
                .unwrap_or(0.0);
            Ok(json!(upstream + plus))
        })
    }
}

/// `test.fail`: always fails.
struct Fail;

impl Operator for Fail {
    fn check(&self, _config: &Map<String, Value>) -> Result<(), String> {
        Ok(())
    }

    fn run<'a>(&'a self, task: TaskContext<'a>) -> BoxFuture<'a, Result<Value, TaskError>> {
        Box::pin(async move {
            task.log.info("about to fail");
            Err(TaskError::new("failed on purpose"))
        })
    }
}

/// `test.sleep`: sleeps `ms` milliseconds, stopping early when cancelled.
struct Sleep;

impl Operator for Sleep {
    fn check(&self, config: &Map<String, Value>) -> Result<(), String> {
        config
            .get("ms")
            .and_then(Value::as_u64)
            .map(|_| ())
            .ok_or("`ms` is required".to_owned())
    }

    fn run<'a>(&'a self, task: TaskContext<'a>) -> BoxFuture<'a, Result<Value, TaskError>> {
        Box::pin(async move {
            let ms = task.config["ms"].as_u64().unwrap();
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(ms)) => Ok(json!({"slept": ms})),
                () = task.cancel.cancelled() => Err(TaskError::cancelled()),
            }
        })
    }
}

/// `test.gate`: waits until the file `path` exists (the test creates it when it
/// wants the task to end), stopping early when cancelled.
struct Gate;

impl Operator for Gate {
    fn check(&self, config: &Map<String, Value>) -> Result<(), String> {
        config
            .get("path")
            .and_then(Value::as_str)
            .map(|_| ())
            .ok_or("`path` is required".to_owned())
    }

    fn run<'a>(&'a self, task: TaskContext<'a>) -> BoxFuture<'a, Result<Value, TaskError>> {
        Box::pin(async move {
            let path = std::path::PathBuf::from(task.config["path"].as_str().unwrap());
            task.log.info("waiting for the gate to open");
            while !path.exists() {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(20)) => {}
                    () = task.cancel.cancelled() => return Err(TaskError::cancelled()),
                }
            }
            Ok(json!({"gate": "open"}))
        })
    }
}

/// `test.flaky`: fails while the try number is at most `fail_tries`.
struct Flaky;

impl Operator for Flaky {
    fn check(&self, _config: &Map<String, Value>) -> Result<(), String> {
        Ok(())
    }

    fn run<'a>(&'a self, task: TaskContext<'a>) -> BoxFuture<'a, Result<Value, TaskError>> {
        Box::pin(async move {
            let fail = task
                .config
                .get("fail_tries")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            if u64::from(task.try_number) <= fail {
                Err(TaskError::new(format!("flaky on try {}", task.try_number)))
            } else {
                Ok(json!(task.try_number))
            }
        })
    }
}

/// The test operators and `definitions` as an app.
pub struct PipelineTestApp(pub Vec<&'static str>);

impl App for PipelineTestApp {
    fn name(&self) -> &'static str {
        "pipeline_test"
    }

    fn pipelines(
        &self,
        _ctx: &AppContext,
        pipelines: &mut PipelineRegistry,
    ) -> Result<(), PipelineError> {
        pipelines
            .operator("test.emit", Emit)?
            .operator("test.add", Add)?
            .operator("test.fail", Fail)?
            .operator("test.sleep", Sleep)?
            .operator("test.flaky", Flaky)?
            .operator("test.gate", Gate)?;
        for (i, text) in self.0.iter().enumerate() {
            pipelines.pipeline_toml(&format!("test definition {i}"), text);
        }
        Ok(())
    }
}

/// The test app with `definitions`, alone.
pub fn apps(definitions: Vec<&'static str>) -> Apps {
    Apps::new(vec![Arc::new(PipelineTestApp(definitions)) as Arc<dyn App>]).unwrap()
}

/// Triggers `name` with `params` (as the CLI does) and waits until the run is
/// finished.
pub async fn run(pipelines: &Pipelines, name: &str, params: Option<Value>) -> RunView {
    let run = pipelines
        .trigger(name, params.as_ref(), TriggeredBy::Cli)
        .await
        .unwrap()
        .unwrap();
    finished(pipelines, run.id).await
}

/// Waits until the run is finished, for at most 60 s.
pub async fn finished(pipelines: &Pipelines, id: Uuid) -> RunView {
    let started = Instant::now();
    loop {
        let run = pipelines.run(id).await.unwrap();
        if matches!(run.state.as_str(), "succeeded" | "failed" | "cancelled") {
            return run;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "run {id} is still {}: {run:#?}",
            run.state
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The state of each task of a run.
pub fn states(run: &RunView) -> Vec<(String, String)> {
    run.tasks
        .iter()
        .flatten()
        .map(|t| (t.task_id.clone(), t.state.to_string()))
        .collect()
}

/// The state of task `id`.
pub fn state(run: &RunView, id: &str) -> String {
    run.tasks
        .iter()
        .flatten()
        .find(|t| t.task_id == id)
        .map(|t| t.state.to_string())
        .unwrap_or_default()
}
