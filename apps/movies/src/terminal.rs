//! `movies search|top|show|stats`: the movies in the live terminal, through the
//! app's queries (`crate::query`), the same as the API's.

use hangar_store::Store;
use hangar_terminal::{
    Align, Arg, Body, BoxFuture, Call, Command, CommandError, Kind, Line, Opt, Output, Signature,
    Spec, Style, Sub, Table,
};

use crate::model::Movie;
use crate::query::{self, Filters, Limit, Metric, QueryError, Search, Top};

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
                        kind: Kind::Choice(&Metric::NAMES),
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
                let n = u32::try_from(n).unwrap_or(u32::MAX).min(call.max_rows);
                Limit::new("limit", n).map_err(text)
            };
            let genre = || Filters {
                genre: inv.text("genre").map(str::to_owned),
                ..Filters::default()
            };
            match inv.sub {
                Some("search") => {
                    let search = Search {
                        q: inv.text("WORDS").map(str::to_owned),
                        filters: genre(),
                        sort: None,
                        limit: limit(10)?,
                        after: None,
                    };
                    let found = query::search(&store, search).await.map_err(text)?;
                    if found.items.is_empty() && catalogue_is_empty(&store).await? {
                        return Ok(empty_catalogue());
                    }
                    Ok(films(&found.items, None, found.next.is_some()))
                }
                Some("top") => {
                    let metric =
                        Metric::parse(inv.choice("by").unwrap_or("imdb_rating")).map_err(text)?;
                    let top = Top {
                        metric,
                        n: limit(10)?,
                        filters: genre(),
                    };
                    let best = query::top(&store, top).await.map_err(text)?;
                    if best.is_empty() && catalogue_is_empty(&store).await? {
                        return Ok(empty_catalogue());
                    }
                    Ok(films(&best, Some(metric), false))
                }
                Some("show") => {
                    let id = inv.int("ID").unwrap_or_default();
                    match query::film(&store, id).await.map_err(text)? {
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

/// Whether there are no films at all, by the listing query.
async fn catalogue_is_empty(store: &Store) -> Result<bool, CommandError> {
    let first = Search {
        q: None,
        filters: Filters::default(),
        sort: None,
        limit: Limit::new("limit", 1).map_err(text)?,
        after: None,
    };
    let first = query::search(store, first).await.map_err(text)?;
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

/// A query's refusal as the terminal shows it: the user's to fix, as it is
/// written; a store failure as an internal error (logged, the user told only
/// that it failed).
fn text(err: QueryError) -> CommandError {
    match err {
        QueryError::Invalid(_) | QueryError::BadCursor => CommandError::User(err.to_string()),
        QueryError::Store(_) => CommandError::Internal(err.to_string()),
    }
}

fn films(movies: &[Movie], metric: Option<Metric>, more: bool) -> Output {
    // A metric other than the two ratings shown anyway gets a column.
    let extra = metric.filter(|m| !matches!(m, Metric::ImdbRating | Metric::RottenTomatoesRating));
    let mut columns = vec![
        ("Id", Align::Right),
        ("Title", Align::Left),
        ("Year", Align::Right),
        ("Genre", Align::Left),
        ("IMDb", Align::Right),
        ("RT", Align::Right),
    ];
    if let Some(m) = extra {
        columns.push((m.name(), Align::Right));
    }
    // On a narrow terminal the title narrows first, then these columns go,
    // never the one the films are ranked by.
    let optional: Vec<&str> = ["Genre", "RT", "IMDb", "Year"]
        .into_iter()
        .filter(|c| match metric {
            Some(Metric::ImdbRating) => *c != "IMDb",
            Some(Metric::RottenTomatoesRating) => *c != "RT",
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

fn metric_value(m: &Movie, metric: Metric) -> String {
    match metric {
        Metric::ImdbVotes => m.imdb_votes.map(thousands).unwrap_or_default(),
        Metric::WorldwideGross => m.worldwide_gross.map(dollars).unwrap_or_default(),
        Metric::UsGross => m.us_gross.map(dollars).unwrap_or_default(),
        Metric::UsDvdSales => m.us_dvd_sales.map(dollars).unwrap_or_default(),
        Metric::ProductionBudget => m.production_budget.map(dollars).unwrap_or_default(),
        Metric::RunningTimeMin => m
            .running_time_min
            .map(|t| format!("{t} min"))
            .unwrap_or_default(),
        Metric::ImdbRating => m.imdb_rating.map(|r| format!("{r:.1}")).unwrap_or_default(),
        Metric::RottenTomatoesRating => m
            .rotten_tomatoes_rating
            .map(|r| format!("{r}%"))
            .unwrap_or_default(),
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
    let s = query::stats(store).await.map_err(text)?;
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
