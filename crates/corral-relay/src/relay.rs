//! The relay's side of a link: listens on every service's port on 127.0.0.1, then says hello
//! over the link (so the engine knows the doors are open once it hears it), and carries each
//! accepted connection to the engine as a stream for that service's door.

use std::net::Ipv4Addr;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::{Mux, Role, Service};

/// Connections carried at once; more wait to be accepted. Well under the engine's limit of
/// streams (`mux::MAX_PEER_STREAMS`), so a stream the engine has not yet forgotten never
/// pushes the relay over it.
pub const MAX_CONNECTIONS: usize = 512;

/// Listens, then runs the link over `reader` / `writer` until it ends (Corral went away: its
/// end of the exec closed). Fails only when a port cannot be listened on.
pub async fn run<R, W>(reader: R, writer: W) -> Result<(), String>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let mut listeners = Vec::new();
    for service in Service::ALL {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, service.port()))
            .await
            .map_err(|e| format!("listening on 127.0.0.1:{}: {e}", service.port()))?;
        listeners.push((service, listener));
    }
    let (mux, mut incoming) = Mux::start(reader, writer, Role::Relay);
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    for (service, listener) in listeners {
        tokio::spawn(accept(mux.clone(), service, listener, slots.clone()));
    }
    // The engine opens no streams toward the relay; any it did are dropped (ended).
    let drain = async { while incoming.recv().await.is_some() {} };
    tokio::select! {
        () = mux.closed() => {}
        () = drain => {}
    }
    Ok(())
}

async fn accept(
    mux: Mux,
    service: Service,
    listener: TcpListener,
    slots: std::sync::Arc<tokio::sync::Semaphore>,
) {
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(_) => {
                // Out of file descriptors, say: wait rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let Ok(mut stream) = mux.open(service.door()) else {
            return; // the link is gone
        };
        tokio::spawn(async move {
            let _ = tokio::io::copy_bidirectional(&mut tcp, &mut stream).await;
            drop(slot);
        });
    }
}
