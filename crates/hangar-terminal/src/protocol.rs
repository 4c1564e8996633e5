//! The messages of a terminal session, one JSON object per WebSocket text
//! message. Line editing happens in the browser; the server gets whole lines.

use serde::{Deserialize, Serialize};

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// The terminal's size changed (sent once at the start, too).
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// Run a line.
    Run {
        /// The line as typed.
        line: String,
    },
    /// Complete the text before the cursor.
    Complete {
        /// The text before the cursor.
        line: String,
    },
    /// Stop the running command (Ctrl+C).
    Cancel,
}

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Text to write as it is (SGR colours, `\r\n` line ends).
    Output {
        /// The text.
        data: String,
    },
    /// Clear the screen.
    Clear,
    /// The server accepts a new line; show this prompt.
    Ready {
        /// The prompt.
        prompt: String,
    },
    /// The answer to a completion request.
    Completion {
        /// The text before the cursor, completed; absent when nothing was
        /// completed (the client keeps what it has).
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<String>,
        /// The choices, when there are several.
        candidates: Vec<String>,
    },
    /// Something went wrong with the last request; shown in red.
    Error {
        /// What, and what to do.
        message: String,
    },
    /// The server ends the session, and why.
    Closed {
        /// Why.
        reason: String,
    },
}

impl ServerMessage {
    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        // A derive of plain strings and vectors cannot fail to serialise.
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"type":"clear"}"#.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages() {
        let parse = |s: &str| serde_json::from_str::<ClientMessage>(s);
        assert_eq!(
            parse(r#"{"type":"run","line":"help"}"#).unwrap(),
            ClientMessage::Run {
                line: "help".into()
            }
        );
        assert_eq!(
            parse(r#"{"type":"cancel"}"#).unwrap(),
            ClientMessage::Cancel
        );
        assert!(parse(r#"{"type":"run","line":"help","x":1}"#).is_err());
        assert!(parse(r#"{"type":"exec","line":"id"}"#).is_err());
        assert!(parse(r#"{"type":"resize","cols":-1,"rows":2}"#).is_err());
    }

    #[test]
    fn server_messages() {
        assert_eq!(
            ServerMessage::Ready {
                prompt: "> ".into()
            }
            .to_json(),
            r#"{"type":"ready","prompt":"> "}"#
        );
        assert_eq!(ServerMessage::Clear.to_json(), r#"{"type":"clear"}"#);
    }
}
