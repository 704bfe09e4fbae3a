//! `corral-relay link`: runs inside a sandbox (a static binary, mounted read-only), listens on
//! the services' loopback ports and carries each connection to Corral over its stdin/stdout.
//! `corral-relay mcp [--port N]`: the stdio MCP server an agent CLI starts, a pipe to the MCP
//! door (the relay's port in a container; the gateway's on this machine for a local run).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mcp_port = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["link"] => None,
        ["mcp"] => Some(corral_relay::Service::Mcp.port()),
        ["mcp", "--port", port] => match port.parse::<u16>() {
            Ok(port) => Some(port),
            Err(_) => {
                eprintln!("corral-relay: bad port `{port}`");
                return ExitCode::from(2);
            }
        },
        ["--version"] => {
            println!("corral-relay {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!(
                "usage: corral-relay link              (started by Corral inside a sandbox)\n       \
                 corral-relay mcp [--port N]   (an agent's MCP server: a pipe to Corral's)"
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("corral-relay: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ran = match mcp_port {
        None => runtime.block_on(corral_relay::relay::run(
            tokio::io::stdin(),
            tokio::io::stdout(),
        )),
        Some(port) => runtime.block_on(corral_relay::stdio::pipe(
            port,
            tokio::io::stdin(),
            tokio::io::stdout(),
        )),
    };
    let code = match ran {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("corral-relay: {e}");
            1
        }
    };
    // Not a return: the runtime would wait for its blocked read of stdin.
    std::process::exit(code)
}
