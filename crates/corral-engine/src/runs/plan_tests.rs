//! The plan, worked out without Docker or a keychain.
use super::*;
use corral_core::{CreatedBy, ProjectId, RepoSource, TaskId, TaskKind, Timestamp, Workflow};

fn project(sandbox: SandboxKind) -> Project {
    Project {
        id: ProjectId::new(),
        name: "p".into(),
        source: RepoSource::Local {
            path: "/repos/p".into(),
        },
        default_branch: Some("main".into()),
        workflow: Workflow {
            sandbox,
            setup_command: Some("make deps".into()),
            verify_command: Some("make test".into()),
            ..Workflow::default()
        },
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
    }
}

fn task(project: &Project, runtime: Runtime, command: Option<&[&str]>, prompt: &str) -> Task {
    Task {
        id: TaskId::new(),
        project_id: project.id,
        title: "T".into(),
        prompt: prompt.into(),
        runtime: Some(runtime),
        model: None,
        command: command.map(|c| c.iter().map(|s| s.to_string()).collect()),
        kind: TaskKind::Work,
        parent: None,
        created_by: CreatedBy::Human,
        approval: corral_core::Approval::Approved,
        max_attempts: 1,
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
    }
}

fn key() -> FoundKey {
    FoundKey {
        name: "ANTHROPIC_API_KEY".into(),
        value: "sk-secret-value".into(),
        source: crate::keys::KeySource::Environment,
        keychain_error: None,
    }
}

/// A step's environment by name.
fn env_of(step: &super::StepSpec) -> std::collections::HashMap<&str, &str> {
    step.env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The relay on this machine, as a local agent starts it.
const RELAY: &str = "/data/bin/corral-relay";

#[test]
fn a_custom_task_runs_its_command_between_the_projects_setup_and_verify() {
    let p = project(SandboxKind::Docker);
    let t = task(&p, Runtime::Custom, Some(&["make", "it"]), "");
    let run = Run::queued(t.id, p.id, 1, Timestamp(0));
    let plan = RunPlan::resolve(
        &run,
        &t,
        &p,
        Path::new("/data/runs/x/sandbox"),
        None,
        None,
        Path::new(RELAY),
    )
    .expect("plan");
    assert_eq!(plan.sandbox, SandboxKind::Docker);
    let setup = plan.setup.expect("setup");
    assert_eq!(
        (setup.name, setup.argv.join(" ")),
        (StepName::Setup, "sh -c make deps".into())
    );
    let Work::Command(work) = plan.work else {
        panic!("a command");
    };
    assert_eq!(work.argv, ["make", "it"]);
    assert_eq!(plan.checks.len(), 1);
    assert!(
        matches!(&plan.checks[0].how, super::CheckStep::Command(step) if step.name == StepName::Verify)
    );
    assert_eq!(plan.checks[0].check.name, "verify");
}

#[test]
fn an_agent_task_gets_its_adapters_command_a_home_and_its_key_which_debug_never_shows() {
    let p = project(SandboxKind::Docker);
    let t = task(&p, Runtime::ClaudeCode, None, "Fix the cart");
    let run = Run::queued(t.id, p.id, 1, Timestamp(0));
    let adapter = corral_agents::adapter_for(Runtime::ClaudeCode).expect("adapter");
    let plan = RunPlan::resolve(
        &run,
        &t,
        &p,
        Path::new("/data/s"),
        Some((adapter, Ok(key()))),
        None,
        Path::new(RELAY),
    )
    .expect("plan");
    let Work::Agent(call) = &plan.work else {
        panic!("an agent");
    };
    assert_eq!(call.program(), "claude");
    assert_eq!(call.request.prompt, "Fix the cart");
    assert_eq!(call.home_on_host, Path::new("/data/s/home"));
    let env: Vec<&str> = call.step.env.iter().map(|(k, _)| k.as_str()).collect();
    assert!(env.contains(&"ANTHROPIC_API_KEY"), "{env:?}");
    assert!(
        call.step
            .env
            .iter()
            .any(|(k, v)| k == "TMPDIR" && v.starts_with("/corral/run/home")),
        "the home as the container sees it"
    );
    let shown = format!("{plan:?}");
    assert!(!shown.contains("sk-secret-value"), "{shown}");
}

#[test]
fn what_cannot_run_is_refused_before_a_key_is_needed() {
    let p = project(SandboxKind::Local);
    let custom = task(&p, Runtime::Custom, None, "");
    assert!(matches!(
        check(&custom, &p, None),
        Err(EngineError::NotRunnable { .. })
    ));
    let adapter = corral_agents::adapter_for(Runtime::ClaudeCode).expect("adapter");
    let no_prompt = task(&p, Runtime::ClaudeCode, None, "  ");
    assert!(matches!(
        check(&no_prompt, &p, Some(adapter.as_ref())),
        Err(EngineError::NotRunnable { .. })
    ));
    let acp = corral_agents::adapter_for(Runtime::Acp).expect("acp");
    let no_command = task(&p, Runtime::Acp, None, "do it");
    assert!(matches!(
        check(&no_command, &p, Some(acp.as_ref())),
        Err(EngineError::NotRunnable { .. })
    ));
}

#[test]
fn through_the_gateway_the_agent_holds_a_placeholder_and_the_door_not_the_key() {
    let mut p = project(SandboxKind::Docker);
    p.workflow.env.insert(
        "ANTHROPIC_BASE_URL".into(),
        "http://company-gateway.invalid".into(),
    );
    let t = task(&p, Runtime::ClaudeCode, None, "Fix the cart");
    let run = Run::queued(t.id, p.id, 1, Timestamp(0));
    let adapter = corral_agents::adapter_for(Runtime::ClaudeCode).expect("adapter");
    let gateway = (
        corral_gateway::Secret::new("corral-placeholder-x"),
        network::Doors::Relay,
    );
    let plan = RunPlan::resolve(
        &run,
        &t,
        &p,
        Path::new("/data/s"),
        Some((adapter, Ok(key()))),
        Some(gateway),
        Path::new(RELAY),
    )
    .expect("plan");
    let Work::Agent(call) = &plan.work else {
        panic!("an agent");
    };
    let env = env_of(&call.step);
    assert_eq!(env["ANTHROPIC_API_KEY"], "corral-placeholder-x");
    assert_eq!(env["ANTHROPIC_BASE_URL"], "http://127.0.0.1:47181");
    assert_eq!(env["HTTPS_PROXY"], "http://127.0.0.1:47180");
    assert_eq!(env["https_proxy"], "http://127.0.0.1:47180");
    assert!(!format!("{:?}", call.step.env).contains("sk-secret-value"));
    // Claude Code starts the relay in the container as its only MCP server.
    let argv = call.step.argv.join(" ");
    assert!(
        argv.contains(r#"--mcp-config {"mcpServers":{"corral":{"args":["mcp"],"command":"/corral/bin/corral-relay","type":"stdio"}}} --strict-mcp-config --allowedTools mcp__corral --disallowedTools AskUserQuestion"#),
        "{argv}"
    );
    let setup = plan.setup.as_ref().expect("setup");
    assert!(
        setup.env.iter().any(|(k, _)| k == "HTTP_PROXY"),
        "every step"
    );
    let network = plan.network.as_ref().expect("the gateway");
    let anthropic = network
        .upstreams
        .iter()
        .find(|u| u.provider == corral_gateway::Provider::Anthropic)
        .expect("anthropic");
    assert_eq!(
        anthropic.key.as_ref().map(|k| k.expose()),
        Some("sk-secret-value")
    );
    assert_eq!(
        anthropic.base_url.as_deref(),
        Some("http://company-gateway.invalid")
    );
    assert!(
        network.upstreams.iter().filter(|u| u.key.is_some()).count() == 1,
        "the key goes only to its own provider"
    );
}

#[test]
fn an_agent_on_a_project_with_no_network_is_refused_saying_how_to_allow_it() {
    let mut p = project(SandboxKind::Docker);
    p.workflow.network = corral_core::NetworkPolicy::None;
    let adapter = corral_agents::adapter_for(Runtime::ClaudeCode).expect("adapter");
    let t = task(&p, Runtime::ClaudeCode, None, "do it");
    let err = check(&t, &p, Some(adapter.as_ref())).expect_err("refused");
    assert!(err.to_string().contains("network=allowlist"), "{err}");
    let custom = task(&p, Runtime::Custom, Some(&["true"]), "");
    assert!(
        check(&custom, &p, None).is_ok(),
        "a command needs no network"
    );
}

#[test]
fn an_orchestrator_in_a_container_without_the_gateway_is_refused_saying_how() {
    let mut p = project(SandboxKind::Docker);
    p.workflow.network = corral_core::NetworkPolicy::Host;
    let adapter = corral_agents::adapter_for(Runtime::ClaudeCode).expect("adapter");
    let mut goal = task(&p, Runtime::ClaudeCode, None, "the goal");
    goal.kind = TaskKind::Orchestrate;
    let err = check(&goal, &p, Some(adapter.as_ref())).expect_err("refused");
    assert!(
        err.to_string().contains("MCP server") && err.to_string().contains("network=host"),
        "{err}"
    );
    p.workflow.network = corral_core::NetworkPolicy::Allowlist;
    assert!(check(&goal, &p, Some(adapter.as_ref())).is_ok());
    // The local sandbox always has the gateway.
    let mut local = project(SandboxKind::Local);
    local.workflow.network = corral_core::NetworkPolicy::Host;
    assert!(check(&goal, &local, Some(adapter.as_ref())).is_ok());
}

#[test]
fn a_local_agent_gets_loopback_doors_and_a_placeholder_but_no_proxy() {
    let p = project(SandboxKind::Local);
    let t = task(&p, Runtime::Codex, None, "Fix it");
    let run = Run::queued(t.id, p.id, 1, Timestamp(0));
    let adapter = corral_agents::adapter_for(Runtime::Codex).expect("adapter");
    let doors = network::Doors::Loopback {
        anthropic: 41001,
        openai: 41002,
        gemini: 41003,
        mcp: Some(41004),
    };
    let key = FoundKey {
        name: "OPENAI_API_KEY".into(),
        ..key()
    };
    let gateway = (corral_gateway::Secret::new("corral-placeholder-y"), doors);
    let plan = RunPlan::resolve(
        &run,
        &t,
        &p,
        Path::new("/data/s"),
        Some((adapter, Ok(key))),
        Some(gateway),
        Path::new(RELAY),
    )
    .expect("plan");
    let Work::Agent(call) = &plan.work else {
        panic!("an agent");
    };
    assert_eq!(
        call.request.base_url.as_deref(),
        Some("http://127.0.0.1:41002/v1")
    );
    let env = env_of(&call.step);
    assert_eq!(env["OPENAI_API_KEY"], "corral-placeholder-y");
    assert!(
        !env.contains_key("HTTPS_PROXY"),
        "a local step could ignore a proxy"
    );
    // Its MCP server is the relay on this machine, a pipe to the MCP door.
    let mcp = call.request.mcp.as_ref().expect("an MCP server");
    assert_eq!(mcp.command, RELAY);
    assert_eq!(mcp.args, ["mcp", "--port", "41004"]);
    assert_eq!(plan.network.expect("gateway").doors, doors);
}
