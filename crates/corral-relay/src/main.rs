//! `corral-relay link`: runs inside a sandbox (a static binary, mounted read-only), listens on
//! the services' loopback ports and carries each connection to Corral over its stdin/stdout.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["link"] => {}
        ["--version"] => {
            println!("corral-relay {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("usage: corral-relay link   (started by Corral inside a sandbox)");
            return ExitCode::from(2);
        }
    }
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
    let code = match runtime.block_on(corral_relay::relay::run(
        tokio::io::stdin(),
        tokio::io::stdout(),
    )) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("corral-relay: {e}");
            1
        }
    };
    // Not a return: the runtime would wait for its blocked read of stdin.
    std::process::exit(code)
}
