//! Integration tests of `mmr::storage`'s S3 store against a real S3-compatible server process
//! (moto's server, which needs Python 3 and `pip install 'moto[server]'`; `make test-deps`
//! installs it): write-once puts, hash-checked reads, fixity, lazy range reads, and the
//! `open_store("s3://…")` wiring with its environment, and `mmr fixity` and `mmr backup` on an S3
//! archive.

mod cluster;
mod moto;
mod s3;
