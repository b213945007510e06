//! `mmr history import` as `make run` and an operator run it: the demo history (dry run, import,
//! again, `--if-empty`), its PDFs in the archive and under fixity, and a manifest with bad lines
//! (each named, nothing imported), a file over the size limit among them. On SQLite and, when
//! one answers, PostgreSQL.

use std::path::Path;
use std::process::Command;

use super::{DEMO, PgDatabase, mmr, postgres_url, run};

const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/history/manifest.csv");

fn mmr_on(dir: &Path, url: Option<&str>) -> Command {
    let mut cmd = mmr(dir);
    if let Some(url) = url {
        cmd.env("MMR_DATABASE_URL", url);
    }
    cmd
}

fn demo_history(dir: &Path, url: Option<&str>) {
    let (ok, _, err) = run(mmr_on(dir, url).args(["cities", "import", DEMO]));
    assert!(ok, "{err}");
    let (ok, out, err) = run(mmr_on(dir, url).args(["history", "import", "--dry-run", MANIFEST]));
    assert!(ok, "{err}");
    assert!(
        out.ends_with(
            "dry run, nothing written: 10 rounds imported, 0 unchanged, 4 PDFs archived (1 without extractable text)\n"
        ),
        "{out}"
    );
    let (ok, out, err) = run(mmr_on(dir, url).args(["history", "import", "--if-empty", MANIFEST]));
    assert!(ok, "{err}");
    assert!(
        out.contains("line 3: edinburgh cycle 3 (due 2016-11-30): imported, late by 47 days, archive 2\n"),
        "{out}"
    );
    assert!(out.contains("line 5: berlin cycle 2 (due 2013-11-30): imported, never received\n"), "{out}");
    assert!(
        out.contains("line 7: berlin cycle 4 (due 2021-11-30): imported, on time, archive 3; PDF: no extractable text"),
        "{out}"
    );
    assert!(
        out.ends_with(": 10 rounds imported, 0 unchanged, 4 PDFs archived (1 without extractable text)\n"),
        "{out}"
    );
    // Again: nothing changes; with --if-empty, nothing is even read.
    let (ok, out, err) = run(mmr_on(dir, url).args(["history", "import", MANIFEST]));
    assert!(ok, "{err}");
    assert!(out.ends_with(": 0 rounds imported, 10 unchanged, 0 PDFs archived\n"), "{out}");
    let (ok, out, _) = run(mmr_on(dir, url).args(["history", "import", "--if-empty", MANIFEST]));
    assert!(ok);
    assert!(out.ends_with("not imported, 10 past rounds were imported before\n"), "{out}");
    // One file per received document, all intact; nothing to resume (an imported acceptance
    // without a PDF is not an interrupted archiving).
    let (ok, out, err) = run(mmr_on(dir, url).arg("fixity"));
    assert!(ok, "{out}{err}");
    assert_eq!(
        out,
        format!(
            "fixity: 4 files of 4 archived reports checked in local directory {}, 0 problem(s)\n",
            dir.join("archive").display()
        )
    );
}

#[test]
fn the_demo_history_imports_once_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    demo_history(dir.path(), None);
}

#[test]
fn the_demo_history_imports_once_on_postgres() {
    let Some(admin) = postgres_url() else { return };
    let db = PgDatabase::create(&admin);
    let dir = tempfile::tempdir().unwrap();
    demo_history(dir.path(), Some(&db.url));
}

#[test]
fn a_manifest_with_bad_lines_imports_nothing_and_names_each() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(mmr(dir.path()).args(["cities", "import", DEMO]));
    assert!(ok, "{err}");
    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    std::fs::copy(Path::new(MANIFEST).with_file_name("edinburgh-2012.pdf"), files.join("good.pdf")).unwrap();
    std::fs::write(files.join("letter.pdf"), "Dear Secretariat, please find our report attached.").unwrap();
    // Over the limit, without writing 64 MiB: a sparse file.
    std::fs::File::create(files.join("huge.pdf")).unwrap().set_len(65 * 1024 * 1024).unwrap();
    let manifest = dir.path().join("manifest.csv");
    std::fs::write(
        &manifest,
        "city,due_year,due_date,received_on,decision,decided_on,language,file,notes\n\
         edinburgh,2012,2012-11-30,2012-11-20,accepted,2013-01-10,en,good.pdf,\n\
         atlantis,2012,2012-11-30,,none,,en,,\n\
         edinburgh,2016,2016-11-30,2016-11-20,accepted,2017-01-10,en,letter.pdf,\n\
         edinburgh,2020,2020-11-30,2020-11-20,accepted,2021-01-10,en,huge.pdf,\n\
         berlin,2013,2013-11-30,2013-11-20,accepted,2013-10-01,en,,\n\
         berlin,2017,2017-11-30,2017-11-20,accepted,2018-01-10,en,gone.pdf,\n\
         glasgow,2016,2016-11-30,2016-12-01,accepted,2017-01-10,de,,\n",
    )
    .unwrap();
    let (ok, out, err) = run(mmr(dir.path()).args(["history", "import", "--files"]).arg(&files).arg(&manifest));
    assert!(!ok);
    assert_eq!(out, "");
    assert!(err.contains("6 bad lines in the manifest; nothing was imported"), "{err}");
    for line in [
        "line 3: city: `atlantis` is not a city of the registry",
        "line 4: file `letter.pdf` is not a PDF (no %PDF- header)",
        "line 5: file `huge.pdf` is 68157440 bytes, over the limit of 64 MiB for a received PDF",
        "line 6: decided_on: 2013-10-01 is before the report was received (2013-11-20)",
        "line 7: file `gone.pdf` is missing",
        "line 8: language: `de` is not a supported language (en, fr)",
    ] {
        assert!(err.contains(line), "{line} not in {err}");
    }
    // Nothing written: the good line is not there either.
    let (ok, out, err) = run(mmr(dir.path()).args(["history", "import", "--if-empty", MANIFEST]));
    assert!(ok && out.contains(": 10 rounds imported"), "{out}{err}");
}
