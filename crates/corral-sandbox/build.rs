//! Builds the relay (`corral-relay`, the binary mounted into every sandbox) as a static Linux
//! executable and hands its path to the crate, which embeds it: a sandbox may be any image
//! (glibc, musl, or no libc at all), so the relay cannot link to the image's. The relay is
//! built by a nested cargo in its own target folder (next to this build's), so the outer build
//! is not locked out. `CORRAL_RELAY_BIN` names a relay built elsewhere instead (for another
//! architecture, or a packager's own build).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=../corral-relay/src");
    println!("cargo:rerun-if-changed=../corral-relay/Cargo.toml");
    println!("cargo:rerun-if-changed=../../Cargo.lock");
    println!("cargo:rerun-if-changed=../../Cargo.toml"); // [profile.relay]
    println!("cargo:rerun-if-env-changed=CORRAL_RELAY_BIN");
    // A release build without a relay would only fail when a run starts: fail it now.
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let embedded = out_dir.join("corral-relay");
    let built = match std::env::var("CORRAL_RELAY_BIN") {
        Ok(path) if !path.is_empty() => {
            println!("cargo:rerun-if-changed={path}");
            PathBuf::from(path)
        }
        _ => match build_static_relay(&out_dir) {
            Ok(path) => path,
            Err(reason) if release => {
                eprintln!("no relay for the sandboxes: {reason}");
                std::process::exit(1);
            }
            Err(reason) => {
                // The crate still builds; opening a link then says why there is no relay.
                println!("cargo:warning=no relay for the sandboxes: {reason}");
                let _ = std::fs::write(&embedded, b"");
                return;
            }
        },
    };
    if let Err(e) = std::fs::copy(&built, &embedded) {
        println!(
            "cargo:warning=no relay for the sandboxes: copying {}: {e}",
            built.display()
        );
        let _ = std::fs::write(&embedded, b"");
    }
}

fn build_static_relay(out_dir: &Path) -> Result<PathBuf, String> {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch != "x86_64" && arch != "aarch64" {
        return Err(format!(
            "no relay is built for {arch}; name one with CORRAL_RELAY_BIN"
        ));
    }
    if os != "linux" {
        return Err(format!(
            "on {os} the relay must be built for Linux separately and named by CORRAL_RELAY_BIN"
        ));
    }
    let target = format!("{arch}-unknown-linux-gnu");
    // OUT_DIR is <target dir>/<profile>/build/<crate>-<hash>/out, or one level deeper with
    // --target: the relay's own folder sits beside the build's, shared by every profile.
    let target_dir = out_dir
        .ancestors()
        .find(|p| p.join("CACHEDIR.TAG").exists())
        .map(|p| p.join("corral-relay-static"))
        .unwrap_or_else(|| out_dir.join("corral-relay-static"));
    // Read when the script runs, not when it was compiled: a script compiled for another clone
    // sharing this target folder would otherwise build that clone's relay.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")
        .map_err(|_| "cargo did not say where this crate is (CARGO_MANIFEST_DIR)".to_string())?;
    let workspace = Path::new(&manifest_dir).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&workspace)
        .args([
            "build",
            "--locked",
            "--profile",
            "relay",
            "-p",
            "corral-relay",
        ])
        .args(["--bin", "corral-relay", "--target", &target, "--target-dir"])
        .arg(&target_dir)
        // The outer build's flags and wrappers (clippy's) are not the relay's.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .output()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building it failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target_dir.join(&target).join("relay").join("corral-relay"))
}
