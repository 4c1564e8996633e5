//! Builds the web UI (`web/`, Vite) into `$OUT_DIR/web`, which `src/web.rs`
//! embeds in the binary.
//!
//! Cargo runs this again only when a source of the UI changes (the
//! `rerun-if-changed` lines below), so a build of the Rust code alone does not
//! rebuild the UI. `npm ci` runs first when `web/node_modules` is missing or
//! older than `web/package-lock.json`.
//!
//! Without npm the build goes on with a warning, and the binary carries no UI:
//! `/` answers a `web-ui-not-built` problem saying how to get one (install
//! Node.js with npm and rebuild, or point `http.web_dir` at a built `web/dist`).
//! With npm, a failing UI build fails the build, with npm's output.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The UI's sources: a change to any of them rebuilds it.
const SOURCES: &[&str] = &[
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
    "tsconfig.node.json",
];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("web");
    let web = manifest.join("../../web");
    // The embedded folder exists even when nothing is built into it.
    std::fs::create_dir_all(&out).expect("create $OUT_DIR/web");

    if !web.join("package.json").is_file() {
        warn(&format!(
            "no web UI sources at {}; the binary is built without its web UI",
            web.display()
        ));
        clear(&out);
        return;
    }
    for source in SOURCES {
        println!("cargo:rerun-if-changed={}", web.join(source).display());
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().is_err() {
        warn(
            "npm not found: the binary is built without its web UI (it answers `/` with a \
             web-ui-not-built problem). Install Node.js 20.19+ with npm and rebuild \
             (`touch web/package.json` makes cargo build the UI again), or set http.web_dir \
             to a built web/dist",
        );
        clear(&out);
        return;
    }
    if needs_install(&web) {
        run(
            Command::new(npm)
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&web),
            "npm ci",
        );
    }
    // `--` passes the output folder to the script's last command, `vite build`.
    run(
        Command::new(npm)
            .args([
                "run",
                "--silent",
                "build",
                "--",
                "--emptyOutDir",
                "--outDir",
            ])
            .arg(&out)
            .current_dir(&web),
        "npm run build",
    );
    assert!(
        out.join("index.html").is_file(),
        "`npm run build` in web/ wrote no index.html into {}",
        out.display()
    );
}

/// Whether `node_modules` is missing or older than the lock file.
fn needs_install(web: &Path) -> bool {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    match (
        modified(&web.join("node_modules/.package-lock.json")),
        modified(&web.join("package-lock.json")),
    ) {
        (Some(installed), Some(locked)) => installed < locked,
        _ => true,
    }
}

/// Runs `command`, failing the build with its output if it fails.
fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("`{what}` in web/ could not start: {e}"));
    if !output.status.success() {
        panic!(
            "`{what}` in web/ failed ({}); fix the web UI or its install, then build again\n\
             --- stdout\n{}\n--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Empties the embedded folder, so that no UI of an earlier build is carried.
fn clear(out: &Path) {
    if let Ok(entries) = std::fs::read_dir(out) {
        for entry in entries.flatten() {
            let path = entry.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

fn warn(message: &str) {
    println!("cargo:warning={message}");
}
