//! The README's repository map against the repository: every workspace member
//! (as `Cargo.toml` lists them) and every top-level folder must have an entry,
//! and every entry must exist. A failure names what is missing.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Folders that are not part of the repository: those `.gitignore` names by
/// path (`/target`, `/data/`, `/web/node_modules` ...), relative to the root.
fn ignored() -> BTreeSet<String> {
    std::fs::read_to_string(root().join(".gitignore"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix('/'))
        .filter(|l| !l.contains(['*', '?', '[']))
        .map(|l| l.trim_end_matches('/').to_owned())
        .collect()
}

/// The paths the map names, relative to the root, without trailing `/`: an
/// entry at the left margin is a path of its own; an entry indented under
/// another (two spaces per level) is a path inside it. Lines indented further
/// continue the description of the entry above.
fn mapped(readme: &str) -> Vec<String> {
    let section = readme
        .split_once("## The repository")
        .expect("README.md has a `## The repository` section")
        .1;
    let block = section
        .split("```")
        .nth(1)
        .expect("the repository section holds the map in a ``` block");
    let mut paths = Vec::new();
    let mut parents: Vec<String> = Vec::new();
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let indent = line.len() - line.trim_start().len();
        if indent >= 10 {
            continue;
        }
        assert!(
            indent % 2 == 0,
            "map line {line:?}: entries are indented by two spaces per level"
        );
        let name = line
            .split_whitespace()
            .next()
            .unwrap()
            .trim_end_matches('/');
        let level = indent / 2;
        assert!(
            level <= parents.len(),
            "map line {line:?} is indented deeper than the entry above it"
        );
        parents.truncate(level);
        let path = match parents.last() {
            Some(parent) => format!("{parent}/{name}"),
            None => name.to_owned(),
        };
        parents.push(path.clone());
        paths.push(path);
    }
    paths
}

/// The workspace members: the `members` of the root `Cargo.toml`, with `dir/*`
/// expanded to the folders of `dir` that hold a `Cargo.toml`.
fn members() -> Vec<String> {
    let manifest: toml::Table = std::fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let patterns = manifest["workspace"]["members"].as_array().unwrap();
    let mut members = Vec::new();
    for pattern in patterns {
        let pattern = pattern.as_str().unwrap();
        match pattern.strip_suffix("/*") {
            Some(dir) => {
                let mut found: Vec<String> = std::fs::read_dir(root().join(dir))
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.join("Cargo.toml").is_file())
                    .map(|p| format!("{dir}/{}", p.file_name().unwrap().to_string_lossy()))
                    .collect();
                found.sort();
                members.extend(found);
            }
            None => members.push(pattern.to_owned()),
        }
    }
    members
}

/// The folders inside `dir` (relative to the root; `""` for the root itself),
/// hidden and ignored ones left out.
fn folders_in(dir: &str) -> Vec<String> {
    let ignored = ignored();
    let mut folders: Vec<String> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .map(|name| match dir {
            "" => name,
            _ => format!("{dir}/{name}"),
        })
        .filter(|path| !ignored.contains(path))
        .collect();
    folders.sort();
    folders
}

#[test]
fn the_readme_maps_every_member_and_top_level_folder() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let map = mapped(&readme);
    let entries: BTreeSet<&str> = map.iter().map(String::as_str).collect();

    let missing: Vec<String> = members()
        .into_iter()
        .filter(|m| !entries.contains(m.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "workspace members missing from the README's repository map: {}; add a line \
         for each under its folder in the `## The repository` section",
        missing.join(", ")
    );

    // A top-level folder is mapped by an entry of its own, or, when the map
    // names only folders inside it (`fixtures/datasets/`), by an entry for each
    // of them. A folder whose entry lists what is inside it (`crates/`,
    // `bench/`) must list every folder inside it.
    let mut missing = Vec::new();
    for folder in folders_in("") {
        let prefix = format!("{folder}/");
        let inside = entries.iter().any(|e| e.starts_with(&prefix));
        if !entries.contains(folder.as_str()) && !inside {
            missing.push(folder);
        } else if inside {
            missing.extend(
                folders_in(&folder)
                    .into_iter()
                    .filter(|inner| !entries.contains(inner.as_str())),
            );
        }
    }
    for entry in &entries {
        let prefix = format!("{entry}/");
        let listed_inside = entries.iter().any(|e| e.starts_with(&prefix));
        if listed_inside && entry.contains('/') && root().join(entry).is_dir() {
            missing.extend(
                folders_in(entry)
                    .into_iter()
                    .filter(|inner| !entries.contains(inner.as_str())),
            );
        }
    }
    assert!(
        missing.is_empty(),
        "folders missing from the README's repository map: {}; add a line for each \
         in the `## The repository` section",
        missing.join(", ")
    );

    let stale: Vec<&str> = entries
        .iter()
        .copied()
        .filter(|e| !root().join(e).exists())
        .collect();
    assert!(
        stale.is_empty(),
        "the README's repository map names paths that do not exist: {}",
        stale.join(", ")
    );
}

#[test]
fn the_map_reader_follows_indentation() {
    let readme = [
        "## The repository",
        "",
        "```",
        "Cargo.toml   the workspace",
        "crates/",
        "  a/         one",
        "             more of its description",
        "  b/",
        "    inner/   deeper",
        "c/d/         a path",
        "```",
    ]
    .join("\n");
    assert_eq!(
        mapped(&readme),
        [
            "Cargo.toml",
            "crates",
            "crates/a",
            "crates/b",
            "crates/b/inner",
            "c/d"
        ]
    );
}
