//! `corral-relay mcp`: a stdio MCP server as an agent CLI starts one, which is only a pipe. It
//! connects to the MCP door on 127.0.0.1 (the relay's in a container, the gateway's on this
//! machine for the local sandbox) and copies stdin to it and what comes back to stdout, so
//! the agent's MCP traffic reaches its run's server in Corral's engine.

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Pipes `input` to the door at 127.0.0.1:`port` and the door's replies to `output`, until
/// either side ends. Fails when the door cannot be reached.
pub async fn pipe<R, W>(port: u16, mut input: R, mut output: W) -> Result<(), String>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let tcp = TcpStream::connect((std::net::Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(|e| {
            format!(
                "cannot reach Corral's MCP server at 127.0.0.1:{port} ({e}); it is there only \
                 while Corral runs the task"
            )
        })?;
    let (mut from_door, mut to_door) = tcp.into_split();
    let upstream = async {
        let copied = tokio::io::copy(&mut input, &mut to_door).await;
        // The agent closed its end: the server sees the end of the stream.
        let _ = to_door.shutdown().await;
        copied
    };
    let downstream = async {
        let copied = tokio::io::copy(&mut from_door, &mut output).await;
        let _ = output.flush().await;
        copied
    };
    // Either side ending ends the pipe: an agent waits for its server's output to end, and a
    // server gone away leaves nothing to read.
    tokio::select! {
        r = upstream => r.map(drop).map_err(|e| e.to_string()),
        r = downstream => r.map(drop).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn copies_both_ways_until_the_door_closes() {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let door = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.expect("accept");
            let mut line = [0u8; 6];
            tcp.read_exact(&mut line).await.expect("read");
            tcp.write_all(b"pong:").await.expect("write");
            tcp.write_all(&line).await.expect("write");
        });
        let (mut agent, relay_in) = tokio::io::duplex(64);
        let (relay_out, mut seen) = tokio::io::duplex(64);
        agent.write_all(b"ping!\n").await.expect("write");
        pipe(port, relay_in, relay_out).await.expect("piped");
        door.await.expect("door");
        let mut out = Vec::new();
        seen.read_to_end(&mut out).await.expect("read");
        assert_eq!(out, b"pong:ping!\n");
    }

    #[tokio::test]
    async fn no_door_is_a_clear_error() {
        let listener =
            std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let err = pipe(port, tokio::io::empty(), tokio::io::sink())
            .await
            .expect_err("nothing listens");
        assert!(err.contains("Corral's MCP server"), "{err}");
    }
}
