//! The real path to a provider: HTTPS, checked against the system's roots. Offline, the
//! "provider" is a TLS server on 127.0.0.1 with a certificate for `localhost` made for the test,
//! trusted through `SSL_CERT_FILE` (which the system roots loader reads) in a child run of
//! this test binary, so no other test sees that trust.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use corral_relay::Service;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Harness, Options, PLACEHOLDER, REAL_KEY, post, status_of};

const CHILD: &str = "CORRAL_GATEWAY_TLS_DIR";
const NAME: &str = "tls::an_https_upstream_is_reached_over_tls_checked_against_the_system_roots";

/// A certificate authority and a certificate for `localhost` it signed (`cert.pem`,
/// `key.pem`); the authority is what the child trusts (`ca.pem`).
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let made = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs (Debian package openssl)");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=corral-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
    ]);
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("extensions");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-out",
        "cert.pem",
        "-extfile",
        "leaf.ext",
    ]);
}

/// A TLS server answering every request with the headers it got (so the test sees the key).
async fn tls_upstream(dir: &Path) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(dir.join("cert.pem"))
        .expect("cert")
        .collect::<Result<Vec<_>, _>>()
        .expect("certs");
    let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0u8; 16 * 1024];
                let n = tls.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let body = head.split("\r\n\r\n").next().unwrap_or("").to_string();
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

#[tokio::test]
async fn an_https_upstream_is_reached_over_tls_checked_against_the_system_roots() {
    let Some(dir) = std::env::var_os(CHILD) else {
        let dir = tempfile::tempdir().expect("temp");
        make_certificates(dir.path());
        let child = Command::new(std::env::current_exe().expect("this test binary"))
            .args([NAME, "--exact", "--nocapture"])
            .env(CHILD, dir.path())
            .env("SSL_CERT_FILE", dir.path().join("ca.pem"))
            .output()
            .expect("the child runs");
        let out = String::from_utf8_lossy(&child.stdout);
        assert!(
            child.status.success(),
            "{out}\n{}",
            String::from_utf8_lossy(&child.stderr)
        );
        assert!(out.contains("1 passed"), "the child ran the test: {out}");
        return;
    };
    let dir = Path::new(&dir);
    let port = tls_upstream(dir).await;
    let h = Harness::new(Options::new(&format!("https://localhost:{port}")));
    let answer = h
        .raw(
            Service::Anthropic,
            &post("/v1/messages", &[("x-api-key", PLACEHOLDER)], "{}"),
        )
        .await;
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(answer.contains("POST /v1/messages HTTP/1.1"), "{answer}");
    assert!(
        answer.contains(&format!("x-api-key: {REAL_KEY}")),
        "{answer}"
    );

    // A name the certificate does not cover is refused: the check is real.
    let h = Harness::new(Options::new(&format!("https://127.0.0.1:{port}")));
    let answer = h
        .raw(
            Service::Anthropic,
            &post("/v1/messages", &[("x-api-key", PLACEHOLDER)], "{}"),
        )
        .await;
    assert_eq!(status_of(&answer), 502, "{answer}");
}
