//! Integration tests of the archival renderer (`mmr::render`): one test binary,
//! its modules under `tests/render/`. Tests that check the PDF with real tools
//! need `qpdf` and `pdftotext`/`pdffonts`/`pdfinfo` (Debian: `apt-get install
//! qpdf poppler-utils`) and fail, naming the package, when they are missing; every PDF
//! they write is run through `render/pdfua_check.py`, which needs Python's pikepdf
//! (`make test-deps`, or `python3 -m pip install pikepdf`).

#[path = "render/support.rs"]
mod support;

#[path = "render/archival.rs"]
mod archival;
#[path = "render/check.rs"]
mod check;
#[path = "render/constructs.rs"]
mod constructs;
#[path = "render/golden.rs"]
mod golden;
#[path = "render/limits.rs"]
mod limits;
#[path = "render/props.rs"]
mod props;
#[path = "render/scripts.rs"]
mod scripts;
#[path = "render/skeleton.rs"]
mod skeleton;
#[path = "render/tagged.rs"]
mod tagged;
#[path = "render/template.rs"]
mod template;
#[path = "render/typography.rs"]
mod typography;
