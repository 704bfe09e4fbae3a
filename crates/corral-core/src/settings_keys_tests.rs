//! Tests of `settings_keys`.

use super::*;
use crate::project::{AgentPermissions, SandboxKind};
use crate::runtime::Runtime;

#[test]
fn sets_every_documented_key() {
    let mut wf = Workflow::default();
    let pairs = [
        ("base-image", "debian:bookworm-slim"),
        ("setup", "npm ci"),
        ("verify", "npm test"),
        ("runtime", "codex"),
        ("model", "gpt-5"),
        ("network", "host"),
        ("sandbox", "local"),
        ("memory", "1.5g"),
        ("cpus", "1.5"),
        ("pids", "256"),
        ("max-runs", "3"),
        ("auto-run", "on"),
        ("chain-on", "merge"),
        ("retention-runs", "5"),
        ("retention-days", "2"),
        ("secrets", "OPENAI_API_KEY, GH_TOKEN"),
        ("env.RUST_LOG", "debug"),
    ];
    for (k, v) in pairs {
        wf.set(k, v).unwrap_or_else(|e| panic!("{k}: {e}"));
    }
    assert_eq!(
        wf.image,
        ImageChoice::Base {
            image: "debian:bookworm-slim".into()
        }
    );
    assert_eq!(wf.setup_command.as_deref(), Some("npm ci"));
    assert_eq!(wf.verify_command.as_deref(), Some("npm test"));
    assert_eq!(wf.runtime, Runtime::Codex);
    assert_eq!(wf.model.as_deref(), Some("gpt-5"));
    assert_eq!(wf.network, NetworkPolicy::Host);
    assert_eq!(wf.sandbox, SandboxKind::Local);
    assert!(wf.set("sandbox", "chroot").is_err());
    wf.set("agent-permissions", "bypass").expect("a mode");
    assert_eq!(wf.agent_permissions, AgentPermissions::Bypass);
    assert!(wf.set("agent-permissions", "yolo").is_err());
    wf.set("max-file-size", "1g").expect("a size");
    assert_eq!(wf.max_file_mib, 1024);
    assert!(wf.set("max-file-size", "0").is_err());
    assert_eq!(Workflow::default().max_file_mib, 50);
    wf.set("inactivity-timeout", "2m").expect("a duration");
    assert_eq!(wf.inactivity_timeout_secs, 120);
    assert!(wf.set("inactivity-timeout", "0").is_err());
    assert!(wf.set("inactivity-timeout", "soon").is_err());
    wf.set("dockerfile", ".devcontainer/Dockerfile")
        .expect("a repository path");
    assert_eq!(
        wf.image,
        ImageChoice::Dockerfile {
            path: ".devcontainer/Dockerfile".into()
        }
    );
    assert!(wf.set("dockerfile", "../outside/Dockerfile").is_err());
    assert!(wf.set("dockerfile", "/etc/Dockerfile").is_err());
    assert_eq!(wf.limits.memory_mib, 1536);
    assert_eq!(wf.limits.cpu_millis, 1500);
    assert_eq!(wf.limits.pids, 256);
    assert_eq!(wf.max_concurrent_runs, 3);
    assert!(wf.auto_run);
    assert_eq!(wf.chain_on, crate::project::ChainOn::Merge);
    assert_eq!(wf.retention.keep_runs, 5);
    assert_eq!(wf.retention.keep_days, 2);
    assert_eq!(wf.secret_names, vec!["OPENAI_API_KEY", "GH_TOKEN"]);
    assert_eq!(wf.env.get("RUST_LOG").map(String::as_str), Some("debug"));
    assert!(wf.validate().is_ok());

    wf.set("agent-image", "me/agent:1").expect("agent image");
    assert_eq!(
        wf.image,
        ImageChoice::Agent {
            image: "me/agent:1".into()
        }
    );
    wf.set("agent-image", "").expect("clear");
    assert_eq!(wf.image, ImageChoice::Default);
    wf.set("env.RUST_LOG", "").expect("remove env");
    assert!(wf.env.is_empty());
    wf.set("verify", "").expect("clear verify");
    assert_eq!(wf.verify_command, None);
}

#[test]
fn graph_settings_default_to_manual_runs_chained_on_success() {
    let wf = Workflow::default();
    assert!(!wf.auto_run);
    assert_eq!(wf.chain_on, crate::project::ChainOn::Success);
    // A workflow stored before these settings existed reads with the defaults.
    let old: Workflow = serde_json::from_str(r#"{"max_concurrent_runs": 2}"#).expect("old row");
    assert!(!old.auto_run);
    assert_eq!(old.chain_on, crate::project::ChainOn::Success);
    let mut on = Workflow::default();
    on.set("auto-run", "off").expect("off");
    assert!(!on.auto_run);
}

#[test]
fn memory_units() {
    assert_eq!(parse_memory_mib("4g"), Ok(4096));
    assert_eq!(parse_memory_mib("512M"), Ok(512));
    assert_eq!(parse_memory_mib("2048"), Ok(2048));
    assert_eq!(parse_memory_mib("1GB"), Ok(1024));
    assert!(parse_memory_mib("lots").is_err());
    assert!(parse_memory_mib("1m").is_err(), "below the 64 MiB floor");
    assert!(parse_memory_mib("-1g").is_err());
}

#[test]
fn an_unknown_key_lists_the_valid_ones_and_changes_nothing() {
    let mut wf = Workflow::default();
    let err = wf.set("colour", "blue").expect_err("unknown");
    let msg = err.to_string();
    assert!(msg.contains("unknown setting `colour`"), "{msg}");
    assert!(
        msg.contains("base-image") && msg.contains("env.<NAME>"),
        "{msg}"
    );
    assert_eq!(wf, Workflow::default());
}

#[test]
fn bad_values_are_refused_and_change_nothing() {
    let mut wf = Workflow::default();
    for (k, v) in [
        ("network", "wifi"),
        ("cpus", "many"),
        ("cpus", "0"),
        ("pids", "-3"),
        ("max-runs", "0"),
        ("auto-run", "sometimes"),
        ("chain-on", "review"),
        ("runtime", "gpt"),
        ("env.1BAD", "x"),
        ("secrets", "OK,NOT OK"),
        ("verify.Bad Name", "true"),
        ("verify.verify", "true"),
        ("verify.", "true"),
        ("verify-retries", "11"),
        ("verify-retries", "-1"),
    ] {
        assert!(wf.set(k, v).is_err(), "{k}={v} must fail");
    }
    assert_eq!(wf, Workflow::default());
}

#[test]
fn named_checks_keep_their_order_are_replaced_by_name_and_removed_when_empty() {
    let mut wf = Workflow::default();
    assert_eq!(wf.verify_retries, 2, "default");
    wf.set("verify.test", "npm test").expect("a check");
    wf.set("verify.lint", " npm run lint ").expect("a check");
    wf.set("verify", "make check").expect("the unnamed check");
    wf.set("verify.test", "npm test -- --ci").expect("replaced");
    let names: Vec<(String, String)> = wf
        .all_checks()
        .into_iter()
        .map(|c| (c.name, c.command))
        .collect();
    assert_eq!(
        names,
        [
            ("verify".to_string(), "make check".to_string()),
            ("test".to_string(), "npm test -- --ci".to_string()),
            ("lint".to_string(), "npm run lint".to_string()),
        ]
    );
    wf.set("verify.test", "").expect("removed");
    wf.set("verify-retries", "0").expect("off");
    assert_eq!(wf.verify_retries, 0);
    assert_eq!(wf.checks.len(), 1);
    wf.validate().expect("valid");
    wf.checks.push(wf.checks[0].clone());
    assert!(wf.validate().is_err(), "two checks of one name");
}

#[test]
fn the_agent_reviewer_is_turned_on_then_given_a_runtime_and_model() {
    let mut wf = Workflow::default();
    assert!(
        wf.set("verify.review.runtime", "codex").is_err(),
        "off first"
    );
    assert!(wf.set("verify.review", "yes").is_err());
    wf.set("verify.review", "agent").expect("on");
    wf.set("verify.review.runtime", "codex").expect("runtime");
    wf.set("verify.review.model", "gpt-5").expect("model");
    assert_eq!(
        wf.reviewer,
        Some(crate::check::Reviewer {
            runtime: Some(Runtime::Codex),
            model: Some("gpt-5".into()),
        })
    );
    assert!(wf.set("verify.review.runtime", "custom").is_err());
    assert!(wf.set("verify.review.model", "--yolo").is_err());
    assert!(wf.set("verify.review.mode", "agent").is_err());
    // A named check whose name starts like the reviewer's setting is a check.
    wf.set("verify.reviewers", "make review")
        .expect("a named check");
    assert_eq!(wf.checks[0].name, "reviewers");
    wf.set("verify.review", "").expect("off");
    assert_eq!(wf.reviewer, None);
}
