//! README's walkthrough ("A whole report with curl") runs as written: the `sh` block is read from
//! README.md and run by bash (`set -euo pipefail`, every `curl -f`) against a server set up as
//! `make run` sets it up (the founding cities, the demo reports), with only the two lines that
//! name the binary and the server's address replaced. Needs curl and Python 3.

use std::process::Command;

use crate::{DEMO, mmr, run, start_server};

const README: &str = include_str!("../../README.md");
/// The lines of the block that a test replaces; the test fails if they change.
const BINARY_LINE: &str = r#"mmr() { ./target/release/mmr --data-dir ./data "$@"; }"#;
const BASE_LINE: &str = "BASE=http://127.0.0.1:8080";

/// The `sh` block after the walkthrough's heading sentence.
fn walkthrough() -> &'static str {
    let from = README.find("A whole report with curl, after `make run`").expect("the walkthrough in README.md");
    let start = from + README[from..].find("```sh\n").expect("its sh block") + "```sh\n".len();
    let end = start + README[start..].find("```").expect("the end of the block");
    &README[start..end]
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let data = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(mmr(data.path()).args(["cities", "import", "--if-empty", DEMO]));
    assert!(ok, "{err}");
    let (ok, _, err) = run(mmr(data.path()).args(["demo", "load", "--if-empty"]));
    assert!(ok, "{err}");
    let (mut server, addr) = start_server(data.path(), &[("MMR_REMINDER_CRON", ""), ("MMR_FIXITY_CRON", "")]);

    let block = walkthrough();
    assert!(
        block.contains(BINARY_LINE) && block.contains(BASE_LINE),
        "the walkthrough's first lines changed:\n{block}"
    );
    let script = block
        .replace(BINARY_LINE, r#"mmr() { "$MMR_BIN" --data-dir "$MMR_DATA" "$@"; }"#)
        .replace(BASE_LINE, &format!("BASE=http://{addr}"));
    // The files it uploads are the repository's; what it downloads goes to a directory of its own.
    let work = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(concat!(env!("CARGO_MANIFEST_DIR"), "/demo"), work.path().join("demo")).unwrap();
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(work.path())
        .env_remove("MMR_DATABASE_URL")
        .env("MMR_BIN", env!("CARGO_BIN_EXE_mmr"))
        .env("MMR_DATA", data.path())
        .env("RUST_LOG", "warn")
        .output()
        .expect("bash");
    server.kill().unwrap();
    server.wait().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the walkthrough failed ({}):\n{stdout}\n{stderr}", out.status);

    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.iter().filter(|l| **l == "True").count(),
        3,
        "the two drafts pass the check, the PDF re-renders: {stdout}"
    );
    assert!(lines.contains(&"request_revision"), "{stdout}");
    assert!(stdout.contains("('6.3 Budget', 'changed')"), "the diff names the changed section: {stdout}");
    assert!(stdout.contains("report.pdf") && stdout.contains("@"), "the PDF's hash and the BibTeX: {stdout}");
    assert!(stdout.contains("Östersund"), "the search finds the report: {stdout}");
    assert!(stdout.contains("SHA256SUMS") || stdout.contains(": OK"), "the bulk download verifies: {stdout}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
}
