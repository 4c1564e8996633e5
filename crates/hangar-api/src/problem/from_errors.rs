//! The one error path from the platform's crates to the client: a handler writes
//! `?` on a store, queue or pipeline error and gets the problem for it. Failures
//! of the server are logged here, once, inside the request's span (which carries
//! the request id, method and route), and answered without their text; errors
//! about the request (a missing job, a wrong state) are answered with what to do.

use axum::http::StatusCode;
use hangar_pipeline::PipelineError;
use hangar_queue::QueueError;
use hangar_store::StoreError;

use super::Problem;

/// `Retry-After` of a 503 whose cause is expected to pass by itself.
const RETRY_AFTER_SECONDS: u64 = 5;

impl From<StoreError> for Problem {
    fn from(err: StoreError) -> Self {
        tracing::error!(error = %err, "store failed");
        Problem::internal()
    }
}

impl From<sqlx::Error> for Problem {
    fn from(err: sqlx::Error) -> Self {
        StoreError::from(err).into()
    }
}

impl From<QueueError> for Problem {
    fn from(err: QueueError) -> Self {
        match err {
            QueueError::Invalid { field, reason } => {
                Problem::bad_request(format!("{field}: {reason}"))
            }
            QueueError::NotFound(id) => {
                Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
                    .with_detail(format!("no job {id}"))
            }
            err @ QueueError::WrongState { .. } => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict")
                    .with_detail(err.to_string())
            }
            err @ (QueueError::Broker(_) | QueueError::Unconfirmed { .. }) => {
                tracing::warn!(error = %err, "queue backend unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                )
                .with_detail("the job queue's broker is unavailable; retry shortly")
                .with_retry_after(RETRY_AFTER_SECONDS)
            }
            err => {
                tracing::error!(error = %err, "job queue failed");
                Problem::internal()
            }
        }
    }
}

impl From<PipelineError> for Problem {
    fn from(err: PipelineError) -> Self {
        match err {
            PipelineError::UnknownPipeline(name) => {
                Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
                    .with_detail(format!("no pipeline `{name}`"))
            }
            PipelineError::UnknownRun(id) => {
                Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
                    .with_detail(format!("no run {id}"))
            }
            PipelineError::Params(errors) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-params",
                "Invalid parameters",
            )
            .with_detail(errors.join("; "))
            .with_errors(errors),
            err @ PipelineError::WrongState { .. } => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict")
                    .with_detail(err.to_string())
            }
            PipelineError::Queue(err) => err.into(),
            PipelineError::Store(err) => err.into(),
            err => {
                tracing::error!(error = %err, "pipeline engine failed");
                Problem::internal()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_failures_are_answered_without_their_text() {
        let secret = "relation \"hangar_jobs\" does not exist";
        let problems = [
            Problem::from(StoreError::InvalidMigrations(secret.to_owned())),
            Problem::from(sqlx::Error::Protocol(secret.to_owned())),
            Problem::from(QueueError::DuplicateHandler(secret.to_owned())),
            Problem::from(PipelineError::Setting(secret.to_owned())),
            Problem::from(PipelineError::Store(StoreError::InvalidMigrations(
                secret.to_owned(),
            ))),
        ];
        for problem in problems {
            assert_eq!(problem.status, 500);
            assert_eq!(problem.kind, "urn:hangar:problem:internal");
            let body = serde_json::to_string(&problem).unwrap();
            assert!(!body.contains("hangar_jobs"), "{body}");
        }
    }

    #[test]
    fn an_unavailable_broker_is_a_503_with_retry_after() {
        let problem = Problem::from(QueueError::Broker("connection refused".to_owned()));
        assert_eq!(problem.status, 503);
        assert_eq!(problem.retry_after, Some(RETRY_AFTER_SECONDS));
        assert!(!problem.detail.unwrap_or_default().contains("refused"));
        let problem = Problem::from(PipelineError::Queue(QueueError::Broker("x".to_owned())));
        assert_eq!(problem.status, 503);
    }

    #[test]
    fn errors_about_the_request_say_what_was_wrong() {
        let id = uuid::Uuid::nil();
        let problem = Problem::from(PipelineError::UnknownRun(id));
        assert_eq!(
            (problem.status, problem.detail.as_deref()),
            (404, Some(format!("no run {id}").as_str()))
        );
        let problem = Problem::from(PipelineError::Params(vec!["a: missing".to_owned()]));
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors, Some(vec!["a: missing".to_owned()]));
        let problem = Problem::from(QueueError::Invalid {
            field: "state",
            reason: "`x` is not a state".to_owned(),
        });
        assert_eq!(problem.status, 400);
        assert_eq!(problem.detail.as_deref(), Some("state: `x` is not a state"));
    }
}
