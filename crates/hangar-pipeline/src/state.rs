//! The states of runs and tasks. The tables keep `success` for a finished task
//! or run; the API, the CLI and the events show it as `succeeded`, the word jobs
//! use too. Every other state is stored and shown alike.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A stored state the engine does not know (a newer version wrote it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} state `{value}` in the store")]
pub struct UnknownState {
    kind: &'static str,
    value: String,
}

macro_rules! states {
    (
        $(#[$meta:meta])*
        $name:ident ($kind:literal) {
            $($(#[$vmeta:meta])* $variant:ident = $stored:literal / $shown:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $shown)] $variant,)+
        }

        impl $name {
            /// The value the tables keep.
            pub fn stored(self) -> &'static str {
                match self {
                    $(Self::$variant => $stored,)+
                }
            }

            /// The name the API, the CLI and the events show.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $shown,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Parses a stored value (or a shown name).
        impl FromStr for $name {
            type Err = UnknownState;

            fn from_str(s: &str) -> Result<Self, UnknownState> {
                $(
                    if s == $stored || s == $shown {
                        return Ok(Self::$variant);
                    }
                )+
                Err(UnknownState {
                    kind: $kind,
                    value: s.to_owned(),
                })
            }
        }

        /// Compares with a shown name (`state == "succeeded"`).
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownState;

            fn try_from(s: String) -> Result<Self, UnknownState> {
                s.parse()
            }
        }
    };
}

states! {
    /// Where a run is.
    RunState ("run") {
        /// Waiting for a slot under the pipeline's `max_active_runs`.
        Queued = "queued" / "queued",
        /// Its tasks are being run.
        Running = "running" / "running",
        /// Every task succeeded or was skipped.
        Succeeded = "success" / "succeeded",
        /// A task failed.
        Failed = "failed" / "failed",
        /// Cancelled by an operator.
        Cancelled = "cancelled" / "cancelled",
    }
}

states! {
    /// Where a task of a run is.
    TaskState ("task") {
        /// Waiting for its upstream tasks.
        Pending = "pending" / "pending",
        /// Its job is queued.
        Queued = "queued" / "queued",
        /// A try is running.
        Running = "running" / "running",
        /// It succeeded; its output is passed downstream.
        Succeeded = "success" / "succeeded",
        /// Its last try failed.
        Failed = "failed" / "failed",
        /// A try failed; the next one waits for its delay.
        UpForRetry = "up_for_retry" / "up_for_retry",
        /// An upstream task failed, so it did not run.
        UpstreamFailed = "upstream_failed" / "upstream_failed",
        /// Its trigger rule did not hold, so it did not run.
        Skipped = "skipped" / "skipped",
        /// Its run was cancelled.
        Cancelled = "cancelled" / "cancelled",
    }
}

impl RunState {
    /// Whether the run has ended.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

impl TaskState {
    /// Whether the task has ended (it will not run again in this run).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::UpstreamFailed | Self::Skipped | Self::Cancelled
        )
    }

    /// Whether it ended as a failure (its own or an upstream task's).
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::UpstreamFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_stored_and_shown_as_before() {
        assert_eq!(TaskState::Succeeded.stored(), "success");
        assert_eq!(TaskState::Succeeded.as_str(), "succeeded");
        assert_eq!(
            serde_json::to_value(RunState::Succeeded).unwrap(),
            "succeeded"
        );
        assert_eq!(
            serde_json::to_value(TaskState::UpForRetry).unwrap(),
            "up_for_retry"
        );
        for state in ["success", "succeeded"] {
            assert_eq!(state.parse::<RunState>(), Ok(RunState::Succeeded));
        }
        let unknown = "paused".parse::<TaskState>().unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "unknown task state `paused` in the store"
        );
    }
}
