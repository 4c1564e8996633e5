//! `movies search|top|show|stats`: the movies in the live terminal, through the
//! same queries as the API.

use hangar_api::Problem;
use hangar_store::Store;
use hangar_terminal::{
    Align, Arg, Body, BoxFuture, Call, Command, CommandError, Kind, Line, Opt, Output, Signature,
    Spec, Style, Sub, Table,
};

use crate::api::list_movies::page;
use crate::api::model::Movie;
use crate::api::top_movies::{METRICS, top};
use crate::api::{Filters, ListParams};

const GENRE: Opt = Opt {
    name: "genre",
    value: "GENRE",
    help: "only films of this major genre, e.g. Drama",
    kind: Kind::Text { max_chars: 40 },
};

static SPEC: Spec = Spec {
    name: "movies",
    summary: "search and rank the films",
    body: Body::Group(&[
        Sub {
            name: "search",
            summary: "films whose title has these words (as prefixes)",
            signature: Signature {
                args: &[Arg {
                    name: "WORDS",
                    help: "title words",
                    kind: Kind::Text { max_chars: 200 },
                    required: true,
                    rest: true,
                }],
                opts: &[
                    Opt {
                        name: "limit",
                        value: "N",
                        help: "how many films",
                        kind: Kind::Int { min: 1, max: 100 },
                    },
                    GENRE,
                ],
                examples: &[
                    "movies search star wars",
                    "movies search 'the god' --limit 5",
                ],
            },
        },
        Sub {
            name: "top",
            summary: "the best films by a metric",
            signature: Signature {
                args: &[Arg {
                    name: "N",
                    help: "how many films",
                    kind: Kind::Int { min: 1, max: 100 },
                    required: false,
                    rest: false,
                }],
                opts: &[
                    Opt {
                        name: "by",
                        value: "METRIC",
                        help: "what to rank by (default imdb_rating)",
                        kind: Kind::Choice(&METRICS),
                    },
                    GENRE,
                ],
                examples: &[
                    "movies top 5 --by imdb_rating",
                    "movies top 10 --by worldwide_gross --genre Action",
                ],
            },
        },
        Sub {
            name: "show",
            summary: "everything about one film",
            signature: Signature {
                args: &[Arg {
                    name: "ID",
                    help: "the film's id, as listed by search and top",
                    kind: Kind::Int {
                        min: 1,
                        max: i64::MAX,
                    },
                    required: true,
                    rest: false,
                }],
                opts: &[],
                examples: &["movies show 42"],
            },
        },
        Sub {
            name: "stats",
            summary: "counts and mean ratings, overall and by genre",
            signature: Signature::NONE,
        },
    ]),
};

/// The `movies` terminal command.
pub struct MoviesCommand(pub Store);

impl Command for MoviesCommand {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn run(&self, call: Call) -> BoxFuture<Result<Output, CommandError>> {
        let store = self.0.clone();
        Box::pin(async move {
            let inv = &call.invocation;
            let limit = |default: i64| {
                let n = inv.int("limit").or(inv.int("N")).unwrap_or(default);
                u32::try_from(n).unwrap_or(u32::MAX).min(call.max_rows)
            };
            match inv.sub {
                Some("search") => {
                    let params = ListParams {
                        q: inv.text("WORDS").map(str::to_owned),
                        genre: inv.text("genre").map(str::to_owned),
                        limit: Some(limit(10)),
                        ..ListParams::default()
                    };
                    let found = page(&store, params).await.map_err(problem)?;
                    if found.items.is_empty() && catalogue_is_empty(&store).await? {
                        return Ok(empty_catalogue());
                    }
                    Ok(films(&found.items, None, found.next_cursor.is_some()))
                }
                Some("top") => {
                    let metric = inv.choice("by").unwrap_or("imdb_rating");
                    let filters = Filters {
                        genre: inv.text("genre").map(str::to_owned),
                        ..Filters::default()
                    };
                    let best = top(&store, metric, limit(10), filters)
                        .await
                        .map_err(problem)?;
                    if best.is_empty() && catalogue_is_empty(&store).await? {
                        return Ok(empty_catalogue());
                    }
                    Ok(films(&best, Some(metric), false))
                }
                Some("show") => {
                    let id = inv.int("ID").unwrap_or_default();
                    match crate::api::get_movie::find(&store, id)
                        .await
                        .map_err(problem)?
                    {
                        Some(movie) => Ok(detail(&movie)),
                        None if catalogue_is_empty(&store).await? => Ok(empty_catalogue()),
                        None => Err(CommandError::User(format!(
                            "no film with id {id}; find ids with `movies search WORDS`"
                        ))),
                    }
                }
                _ => stats(&store, call.max_rows).await,
            }
        })
    }
}

/// Whether there are no films at all, by the API's own listing query.
async fn catalogue_is_empty(store: &Store) -> Result<bool, CommandError> {
    let params = ListParams {
        limit: Some(1),
        ..ListParams::default()
    };
    let first = page(store, params).await.map_err(problem)?;
    Ok(first.items.is_empty())
}

/// What the commands say when no films are loaded yet, and how to load them.
fn empty_catalogue() -> Output {
    let mut out = Output::new();
    out.line(Line::styled(
        "The film catalogue is empty: no films have been loaded yet.",
        Style::Yellow,
    ));
    out.text("Fetch the movies dataset and load the films:");
    out.line(Line::styled("  scripts/fetch-datasets movies", Style::Cyan));
    out.line(Line::styled(
        "  hangar pipeline run movies_etl --wait",
        Style::Cyan,
    ));
    out
}

/// A problem of the shared queries as a terminal error.
fn problem(p: Problem) -> CommandError {
    let text = p.detail.clone().unwrap_or_else(|| p.title.clone());
    if p.status >= 500 {
        CommandError::Internal(text)
    } else {
        CommandError::User(text)
    }
}

fn films(movies: &[Movie], metric: Option<&str>, more: bool) -> Output {
    let extra = metric.filter(|m| !matches!(*m, "imdb_rating" | "rotten_tomatoes_rating"));
    let mut columns = vec![
        ("Id", Align::Right),
        ("Title", Align::Left),
        ("Year", Align::Right),
        ("Genre", Align::Left),
        ("IMDb", Align::Right),
        ("RT", Align::Right),
    ];
    if let Some(m) = extra {
        columns.push((m, Align::Right));
    }
    // On a narrow terminal the title narrows first, then these columns go,
    // never the one the films are ranked by.
    let optional: Vec<&str> = ["Genre", "RT", "IMDb", "Year"]
        .into_iter()
        .filter(|c| match metric {
            Some("imdb_rating") => *c != "IMDb",
            Some("rotten_tomatoes_rating") => *c != "RT",
            _ => true,
        })
        .collect();
    let mut table = Table::new(&columns).optional(&optional);
    for m in movies {
        let mut row = vec![
            m.id.to_string(),
            m.title.clone(),
            opt(m.release_year),
            m.major_genre.clone().unwrap_or_default(),
            m.imdb_rating.map(|r| format!("{r:.1}")).unwrap_or_default(),
            m.rotten_tomatoes_rating
                .map(|r| format!("{r}%"))
                .unwrap_or_default(),
        ];
        if let Some(metric) = extra {
            row.push(metric_value(m, metric));
        }
        table.row(row);
    }
    let mut out = Output::new();
    if movies.is_empty() {
        out.line(Line::styled("no films found", Style::Yellow));
        return out;
    }
    out.table(table);
    if more {
        out.line(Line::styled(
            "more films match; use --limit to see more",
            Style::Dim,
        ));
    }
    out
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn metric_value(m: &Movie, metric: &str) -> String {
    match metric {
        "imdb_votes" => m.imdb_votes.map(thousands).unwrap_or_default(),
        "worldwide_gross" => m.worldwide_gross.map(dollars).unwrap_or_default(),
        "us_gross" => m.us_gross.map(dollars).unwrap_or_default(),
        "us_dvd_sales" => m.us_dvd_sales.map(dollars).unwrap_or_default(),
        "production_budget" => m.production_budget.map(dollars).unwrap_or_default(),
        "running_time_min" => m
            .running_time_min
            .map(|t| format!("{t} min"))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn dollars(n: i64) -> String {
    format!("${}", thousands(n))
}

fn detail(m: &Movie) -> Output {
    let mut out = Output::new();
    out.line(
        Line::styled(m.title.clone(), Style::Bold).push(
            m.release_year
                .map(|y| format!(" ({y})"))
                .unwrap_or_default(),
            Style::Dim,
        ),
    );
    let fields: [(&str, String); 15] = [
        ("id", m.id.to_string()),
        ("released", opt(m.release_date.clone())),
        ("genre", opt(m.major_genre.clone())),
        ("creative type", opt(m.creative_type.clone())),
        ("source", opt(m.source.clone())),
        ("director", opt(m.director.clone())),
        ("distributor", opt(m.distributor.clone())),
        ("MPAA rating", opt(m.mpaa_rating.clone())),
        (
            "running time",
            m.running_time_min
                .map(|t| format!("{t} min"))
                .unwrap_or_default(),
        ),
        (
            "IMDb",
            m.imdb_rating
                .map(|r| format!("{r:.1} ({} votes)", thousands(m.imdb_votes.unwrap_or(0))))
                .unwrap_or_default(),
        ),
        (
            "Rotten Tomatoes",
            m.rotten_tomatoes_rating
                .map(|r| format!("{r}%"))
                .unwrap_or_default(),
        ),
        (
            "budget",
            m.production_budget.map(dollars).unwrap_or_default(),
        ),
        ("US gross", m.us_gross.map(dollars).unwrap_or_default()),
        (
            "worldwide gross",
            m.worldwide_gross.map(dollars).unwrap_or_default(),
        ),
        (
            "US DVD sales",
            m.us_dvd_sales.map(dollars).unwrap_or_default(),
        ),
    ];
    for (name, value) in fields {
        if !value.is_empty() {
            out.line(Line::styled(format!("  {name:<16}"), Style::Dim).push(value, Style::Plain));
        }
    }
    out
}

async fn stats(store: &Store, max_rows: u32) -> Result<Output, CommandError> {
    let s = crate::api::movie_stats::stats(store)
        .await
        .map_err(problem)?;
    if s.total == 0 {
        return Ok(empty_catalogue());
    }
    let mut out = Output::new();
    let mean = |v: Option<f64>, unit: &str| {
        v.map(|v| format!("{v:.2}{unit}"))
            .unwrap_or_else(|| "–".to_owned())
    };
    out.line(Line::styled("films           ", Style::Dim).push(thousands(s.total), Style::Bold));
    out.line(
        Line::styled("mean IMDb       ", Style::Dim)
            .push(mean(s.mean_imdb_rating, ""), Style::Plain),
    );
    out.line(
        Line::styled("mean RT         ", Style::Dim)
            .push(mean(s.mean_rotten_tomatoes_rating, "%"), Style::Plain),
    );
    out.text("");
    let mut table = Table::new(&[
        ("Genre", Align::Left),
        ("Films", Align::Right),
        ("Mean IMDb", Align::Right),
        ("Mean RT", Align::Right),
    ]);
    for g in s.by_genre.iter().take(max_rows as usize) {
        table.row(vec![
            g.genre.clone().unwrap_or_else(|| "(none)".to_owned()),
            g.movies.to_string(),
            g.mean_imdb_rating
                .map(|v| format!("{v:.2}"))
                .unwrap_or_default(),
            g.mean_rotten_tomatoes_rating
                .map(|v| format!("{v:.1}%"))
                .unwrap_or_default(),
        ]);
    }
    out.table(table);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(-1234), "-1,234");
        assert_eq!(dollars(2_767_891_499), "$2,767,891,499");
        assert!(SPEC.check().is_ok());
    }
}
