//! The link into a container with no network: the relay listens inside, the engine's end
//! answers, and the stray killer leaves the relay alone.

use std::time::Duration;

use corral_relay::Service;
use corral_sandbox::{DockerSandbox, Link, RELAY_IN_CONTAINER, install_relay};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{sh, spec, workspace};

/// A container with the relay mounted; the temp dirs live as long as the returned guard.
async fn container_with_relay(
    sandbox: &DockerSandbox,
) -> (String, tempfile::TempDir, tempfile::TempDir) {
    let (dir, ws) = workspace();
    let bin = tempfile::tempdir().expect("temp");
    let relay = install_relay(bin.path()).expect("install the relay");
    let mut spec = spec(&ws);
    spec.read_only_mounts
        .push((relay, RELAY_IN_CONTAINER.to_string()));
    let id = sandbox.create(&spec).await.expect("create");
    (id, dir, bin)
}

/// Answers every stream with a tiny HTTP response naming its service and what was asked.
fn serve(mut link: Link) -> tokio::task::JoinHandle<Link> {
    tokio::spawn(async move {
        while let Some((door, mut stream)) = link.incoming.recv().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let first = request.lines().next().unwrap_or("").to_string();
                let service =
                    Service::from_door(door).map_or("unknown".into(), |s| format!("{s:?}"));
                let body = format!("{service} got {first}");
                let response = format!(
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
        link
    })
}

#[tokio::test]
async fn connections_inside_a_container_with_no_network_reach_the_engine_through_the_link() {
    let sandbox = DockerSandbox::connect(None).await.expect("connect");
    let (id, _dir, _bin) = container_with_relay(&sandbox).await;
    let link = sandbox.open_link(&id).await.expect("the relay starts");
    let server = serve(link);

    // Listening as soon as open_link returned: no retry needed.
    for service in [Service::Anthropic, Service::OpenAi, Service::Mcp] {
        let got = sh(
            &sandbox,
            &id,
            &format!("wget -qO- http://127.0.0.1:{}/v1/messages", service.port()),
        )
        .await;
        assert_eq!(got, format!("{service:?} got GET /v1/messages HTTP/1.1"));
    }
    // The relay is not the sandbox's user, and the sandbox still has no way out but the link.
    let relay_uid = sh(
        &sandbox,
        &id,
        "for p in /proc/[0-9]*; do case \"$(tr '\\0' ' ' < $p/cmdline)\" in \
         '/corral/bin/corral-relay link ') while read -r k v _; do [ \"$k\" = Uid: ] && echo $v; \
         done < $p/status;; esac; done; true",
    )
    .await;
    assert_eq!(relay_uid, "65534");
    assert_eq!(sh(&sandbox, &id, "ls /sys/class/net").await, "lo");

    // Between steps every stray dies, but not the relay: the killer succeeds (no restart) and
    // the link still carries.
    sandbox.end_strays(&id).await.expect("strays ended");
    let got = sh(
        &sandbox,
        &id,
        &format!(
            "wget -qO- http://127.0.0.1:{}/again",
            Service::Gemini.port()
        ),
    )
    .await;
    assert_eq!(got, "Gemini got GET /again HTTP/1.1");
    server.abort();
    sandbox.remove(&id).await.expect("remove");
}

#[tokio::test]
async fn a_dropped_link_ends_its_relay_and_a_new_link_takes_over_as_after_a_restart() {
    let sandbox = DockerSandbox::connect(None).await.expect("connect");
    let (id, _dir, _bin) = container_with_relay(&sandbox).await;
    let first = sandbox.open_link(&id).await.expect("the relay starts");
    // A second relay cannot listen while the first does: a clear error, not a hang.
    let err = sandbox
        .open_link(&id)
        .await
        .expect_err("the ports are taken");
    assert!(err.to_string().contains("127.0.0.1:4718"), "{err}");

    drop(first); // as when Corral exits: its end of the exec closes
    let relinked = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match sandbox.open_link(&id).await {
                Ok(link) => return link,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    })
    .await
    .expect("the old relay exits and a new one listens");
    let server = serve(relinked);
    let got = sh(
        &sandbox,
        &id,
        &format!("wget -qO- http://127.0.0.1:{}/x", Service::Proxy.port()),
    )
    .await;
    assert_eq!(got, "Proxy got GET /x HTTP/1.1");
    server.abort();
    sandbox.remove(&id).await.expect("remove");
}

#[tokio::test]
async fn a_container_without_the_relay_is_a_clear_error() {
    let sandbox = DockerSandbox::connect(None).await.expect("connect");
    let (dir, ws) = workspace();
    let id = sandbox.create(&spec(&ws)).await.expect("create");
    let err = sandbox.open_link(&id).await.expect_err("no relay mounted");
    assert!(err.to_string().contains("link into container"), "{err}");
    sandbox.remove(&id).await.expect("remove");
    drop(dir);
}
