//! `GET /api/v1/site`: who the site belongs to and their projects, from the
//! TOML file named by `site.file`, read and checked at start.

use std::path::Path;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hangar_terminal::{Line, Output, Style};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::Problem;
use crate::problem::responses::NotFound;

/// The site's owner and projects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Who the site belongs to.
    pub owner: Owner,
    /// Their projects, in the order to show them.
    #[serde(default)]
    pub projects: Vec<Project>,
}

/// The site's owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    /// Name.
    pub name: String,
    /// One line under the name.
    #[serde(default)]
    pub headline: String,
    /// A paragraph about them.
    #[serde(default)]
    pub summary: String,
    /// Where else to find them.
    #[serde(default)]
    pub links: Vec<Link>,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Name.
    pub name: String,
    /// What it is.
    #[serde(default)]
    pub summary: String,
    /// Keywords.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Where to see it.
    #[serde(default)]
    pub links: Vec<Link>,
}

/// A link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// The text of the link.
    pub label: String,
    /// `https://…`, `http://…`, `mailto:…`, or a path on this site (`/movies`).
    pub url: String,
}

/// A site file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// The file cannot be read.
    #[error("site.file `{path}`: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid site description.
    #[error("site.file `{path}`: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, and where.
        message: String,
    },
}

impl Site {
    /// Reads and checks the site file at `path`; `None` when `path` is empty or
    /// the file does not exist.
    pub fn load(path: &str) -> Result<Option<Site>, SiteError> {
        if path.is_empty() {
            return Ok(None);
        }
        let text = match std::fs::read_to_string(Path::new(path)) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(SiteError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        Self::parse(&text)
            .map(Some)
            .map_err(|message| SiteError::Invalid {
                path: path.to_owned(),
                message,
            })
    }

    /// Parses and checks a site description.
    pub fn parse(text: &str) -> Result<Site, String> {
        let site: Site = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())?;
        if site.owner.name.trim().is_empty() {
            return Err("owner.name: must not be empty".to_owned());
        }
        let owner_links = site
            .owner
            .links
            .iter()
            .enumerate()
            .map(|(i, l)| (format!("owner.links[{i}]"), l));
        let project_links = site.projects.iter().enumerate().flat_map(|(p, project)| {
            project
                .links
                .iter()
                .enumerate()
                .map(move |(i, l)| (format!("projects[{p}].links[{i}]"), l))
        });
        for (at, link) in owner_links.chain(project_links) {
            let url = link.url.as_str();
            let fine = url.starts_with("https://")
                || url.starts_with("http://")
                || url.starts_with("mailto:")
                || (url.starts_with('/') && !url.starts_with("//"));
            if !fine || url.chars().any(char::is_control) {
                return Err(format!(
                    "{at}.url: `{url}` must start with https://, http://, mailto: or / (a path on this site)"
                ));
            }
        }
        for (p, project) in site.projects.iter().enumerate() {
            if project.name.trim().is_empty() {
                return Err(format!("projects[{p}].name: must not be empty"));
            }
        }
        Ok(site)
    }

    /// What the terminal's `about` prints: paragraphs as in the file (the
    /// terminal wraps them at spaces), links as `label <url>`.
    pub fn about(&self) -> Output {
        let mut out = Output::new();
        out.line(Line::styled(self.owner.name.clone(), Style::Bold));
        if !self.owner.headline.is_empty() {
            out.line(Line::styled(self.owner.headline.clone(), Style::Cyan));
        }
        if !self.owner.summary.is_empty() {
            out.text("");
            out.paragraphs(&self.owner.summary, 0, Style::Plain);
        }
        if !self.owner.links.is_empty() {
            out.text("");
        }
        for link in &self.owner.links {
            out.line(link_line(link, 0));
        }
        if !self.projects.is_empty() {
            out.text("");
            out.line(Line::styled("Projects", Style::Bold));
            for project in &self.projects {
                out.line(Line::styled(format!("  {}", project.name), Style::Cyan));
                out.paragraphs(&project.summary, 4, Style::Plain);
                for link in &project.links {
                    out.line(link_line(link, 4));
                }
            }
        }
        out
    }
}

/// `label <url>`, indented.
fn link_line(link: &Link, indent: usize) -> Line {
    Line::styled(
        format!("{}{}", " ".repeat(indent), link.label),
        Style::Plain,
    )
    .push(" ", Style::Plain)
    .push(format!("<{}>", link.url), Style::Dim)
}

/// What `about` prints when there is no site file.
pub fn anonymous_about() -> Output {
    let mut out = Output::new();
    out.text(format!(
        "This site runs Hangar {}; its owner has not described it (site.file).",
        env!("CARGO_PKG_VERSION")
    ));
    out
}

/// Who the site belongs to and their projects.
#[utoipa::path(
    get,
    path = "/api/v1/site",
    tag = "site",
    responses(
        (status = 200, description = "The site's owner and projects", body = Site),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_site(State(site): State<Option<Arc<Site>>>) -> Result<Json<Site>, Problem> {
    match site {
        Some(site) => Ok(Json(Site::clone(&site))),
        None => Err(Problem::new(StatusCode::NOT_FOUND, "no-site", "No site description")
            .with_detail("the server has no site file; set site.file to a TOML file describing the owner and projects")),
    }
}

/// The site's route.
pub fn routes(site: Option<Arc<Site>>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(get_site))
        .with_state(site)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_check() {
        let site = Site::parse(
            r#"
            [owner]
            name = "Ada"
            links = [{ label = "Code", url = "https://example.com/ada" }]
            [[projects]]
            name = "Explorer"
            links = [{ label = "Open", url = "/movies" }]
            "#,
        )
        .unwrap();
        assert_eq!(site.projects[0].links[0].url, "/movies");
        let bad = Site::parse(
            "[owner]\nname = \"Ada\"\n[[projects]]\nname = \"x\"\nlinks = [{ label = \"x\", url = \"javascript:alert(1)\" }]\n",
        )
        .unwrap_err();
        assert!(
            bad.starts_with("projects[0].links[0].url: `javascript:alert(1)`"),
            "{bad}"
        );
        assert!(
            Site::parse(
                "[owner]\nname = \"Ada\"\nlinks = [{ label = \"x\", url = \"//evil.example\" }]"
            )
            .is_err()
        );
        let unknown = Site::parse("[owner]\nname = \"Ada\"\nage = 3\n").unwrap_err();
        assert!(
            unknown.contains("line 3") && unknown.contains("age"),
            "{unknown}"
        );
        assert!(
            Site::parse("[owner]\nname = \" \"\n")
                .unwrap_err()
                .starts_with("owner.name")
        );
    }
}
