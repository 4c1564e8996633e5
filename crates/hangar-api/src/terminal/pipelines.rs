//! `pipelines list|runs`: the platform's read-only terminal command over the
//! pipeline engine.

use hangar_pipeline::{PipelineError, Pipelines};
use hangar_terminal::{
    Align, Arg, Body, BoxFuture, Call, Command, CommandError, Kind, Opt, Output, Signature, Spec,
    Sub, Table,
};

static SPEC: Spec = Spec {
    name: "pipelines",
    summary: "the data pipelines and their recent runs",
    body: Body::Group(&[
        Sub {
            name: "list",
            summary: "every pipeline, its schedule and tasks",
            signature: Signature {
                args: &[],
                opts: &[],
                examples: &["pipelines list"],
            },
        },
        Sub {
            name: "runs",
            summary: "recent runs, newest first",
            signature: Signature {
                args: &[Arg {
                    name: "PIPELINE",
                    help: "only this pipeline's runs",
                    kind: Kind::Text { max_chars: 64 },
                    required: false,
                    rest: false,
                }],
                opts: &[Opt {
                    name: "limit",
                    value: "N",
                    help: "how many runs",
                    kind: Kind::Int { min: 1, max: 1000 },
                }],
                examples: &["pipelines runs", "pipelines runs movies_etl --limit 5"],
            },
        },
    ]),
};

/// The `pipelines` terminal command.
pub struct PipelinesCommand(pub Pipelines);

impl Command for PipelinesCommand {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run(&self, call: Call) -> BoxFuture<Result<Output, CommandError>> {
        let pipelines = self.0.clone();
        Box::pin(async move {
            match call.invocation.sub {
                Some("list") => Ok(list(&pipelines)),
                _ => runs(&pipelines, &call).await,
            }
        })
    }
}

fn list(pipelines: &Pipelines) -> Output {
    let mut table = Table::new(&[
        ("Pipeline", Align::Left),
        ("Schedule", Align::Left),
        ("Tasks", Align::Right),
        ("Description", Align::Left),
    ]);
    for spec in pipelines.registry().pipelines() {
        table.row(vec![
            spec.name.as_str().to_owned(),
            spec.schedule
                .as_ref()
                .map_or_else(|| "manual".to_owned(), |s| s.as_str().to_owned()),
            spec.tasks.len().to_string(),
            spec.description.clone().unwrap_or_default(),
        ]);
    }
    let mut out = Output::new();
    out.table(table);
    out
}

async fn runs(pipelines: &Pipelines, call: &Call) -> Result<Output, CommandError> {
    let name = call.invocation.text("PIPELINE");
    let limit = call
        .invocation
        .int("limit")
        .map_or(10, |n| u32::try_from(n).unwrap_or(u32::MAX))
        .min(call.max_rows);
    let runs = pipelines
        .runs(name, None, limit)
        .await
        .map_err(|e| match e {
            PipelineError::UnknownPipeline(_) => {
                let names: Vec<&str> = pipelines
                    .registry()
                    .pipelines()
                    .map(|p| p.name.as_str())
                    .collect();
                CommandError::User(format!("{e}; there are: {}", names.join(", ")))
            }
            e => CommandError::Internal(e.to_string()),
        })?;
    let mut table = Table::new(&[
        ("Run", Align::Left),
        ("Pipeline", Align::Left),
        ("State", Align::Left),
        ("By", Align::Left),
        ("Started (UTC)", Align::Left),
        ("Took", Align::Right),
    ]);
    for run in runs {
        let took = match (run.started_at, run.finished_at) {
            (Some(start), Some(end)) => {
                format!("{:.1}s", (end - start).num_milliseconds() as f64 / 1000.0)
            }
            _ => String::new(),
        };
        table.row(vec![
            run.id.simple().to_string()[..8].to_owned(),
            run.pipeline,
            run.state.to_string(),
            run.triggered_by,
            run.started_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            took,
        ]);
    }
    let mut out = Output::new();
    out.table(table);
    Ok(out)
}
