//! The pipelines and operators a process knows: from the files of `pipeline.dir`
//! and from the apps.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::PipelineError;
use crate::file::{DefinitionErrors, parse};
use crate::operator::{Operator, Operators};
use crate::spec::PipelineSpec;

/// Pipelines by name, and the operators their tasks use.
#[derive(Debug, Clone)]
pub struct PipelineRegistry {
    operators: Operators,
    /// Definitions given as text, parsed in [`PipelineRegistry::load`] once every
    /// operator is registered: `(source, text)`.
    pending: Vec<(String, String)>,
    pipelines: BTreeMap<String, PipelineSpec>,
}

impl Default for PipelineRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl PipelineRegistry {
    /// The built-in operators and no pipelines.
    pub fn new() -> Self {
        Self {
            operators: Operators::with_builtins(),
            pending: Vec::new(),
            pipelines: BTreeMap::new(),
        }
    }

    /// Adds an operator (an app's transform); its name must be free.
    pub fn operator(
        &mut self,
        name: &str,
        operator: impl Operator,
    ) -> Result<&mut Self, PipelineError> {
        self.operators
            .register(name, operator)
            .map_err(|message| PipelineError::Duplicate {
                name: name.to_owned(),
                first: "another operator".to_owned(),
                second: message,
            })?;
        Ok(self)
    }

    /// Adds a pipeline defined in TOML by an app; `source` names it in errors
    /// (e.g. `app movies: movies_etl.toml`).
    pub fn pipeline_toml(&mut self, source: &str, text: &str) -> &mut Self {
        self.pending.push((source.to_owned(), text.to_owned()));
        self
    }

    /// Adds every `*.toml` file of `dir` (a missing directory has none).
    pub fn directory(&mut self, dir: &Path) -> Result<&mut Self, PipelineError> {
        let read_error = |source| PipelineError::Read {
            path: dir.display().to_string(),
            source,
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(self),
            Err(e) => return Err(read_error(e)),
        };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|source| PipelineError::Read {
                path: path.display().to_string(),
                source,
            })?;
            self.pending.push((path.display().to_string(), text));
        }
        Ok(self)
    }

    /// Parses every definition added. All problems of all definitions are
    /// reported together.
    pub fn load(&mut self) -> Result<&mut Self, PipelineError> {
        let mut errors = Vec::new();
        for (source, text) in std::mem::take(&mut self.pending) {
            match parse(&source, &text, &self.operators) {
                Ok(spec) => {
                    if let Some(first) = self.pipelines.get(spec.name.as_str()) {
                        return Err(PipelineError::Duplicate {
                            name: spec.name.to_string(),
                            first: first.source.clone(),
                            second: source,
                        });
                    }
                    self.pipelines.insert(spec.name.to_string(), spec);
                }
                Err(DefinitionErrors(mut found)) => errors.append(&mut found),
            }
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(PipelineError::Definition(DefinitionErrors(errors)))
        }
    }

    /// Checks one definition against this registry's operators.
    pub fn check(&self, source: &str, text: &str) -> Result<PipelineSpec, DefinitionErrors> {
        parse(source, text, &self.operators)
    }

    /// The pipeline `name`.
    pub fn get(&self, name: &str) -> Option<&PipelineSpec> {
        self.pipelines.get(name)
    }

    /// Every pipeline, by name.
    pub fn pipelines(&self) -> impl Iterator<Item = &PipelineSpec> {
        self.pipelines.values()
    }

    /// The operators.
    pub fn operators(&self) -> &Operators {
        &self.operators
    }
}
