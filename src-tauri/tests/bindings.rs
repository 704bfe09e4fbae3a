//! `ui/src/lib/bindings.ts` must match the commands and types in Rust. Run with
//! `UPDATE_BINDINGS=1` (or `npm run bindings`) to regenerate it.
#![allow(clippy::expect_used, clippy::cast_possible_truncation)] // tests and benchmarks: a failure is the report

use std::path::Path;

#[test]
fn typescript_bindings_are_current() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings.ts");
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        corral_app::export_bindings(&committed).expect("writes bindings");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let fresh = dir.path().join("bindings.ts");
    corral_app::export_bindings(&fresh).expect("exports bindings");
    let fresh = std::fs::read_to_string(&fresh).expect("read fresh");
    let current = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        fresh == current,
        "ui/src/lib/bindings.ts is stale: run `npm run bindings` and commit the result"
    );
}
