//! Two ends of a link over an in-memory pipe, as the engine and the relay will be over a
//! `docker exec` stdio stream.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::cast_possible_truncation
)] // tests: a failure is the report

use std::time::Duration;

use corral_relay::mux::{MAX_PEER_STREAMS, WINDOW};
use corral_relay::{Frame, Kind, Mux, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The relay's and the engine's ends of one link.
fn link() -> (
    (Mux, corral_relay::mux::Incoming),
    (Mux, corral_relay::mux::Incoming),
) {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (ar, aw) = tokio::io::split(a);
    let (br, bw) = tokio::io::split(b);
    (
        Mux::start(ar, aw, Role::Relay),
        Mux::start(br, bw, Role::Engine),
    )
}

#[tokio::test]
async fn a_stream_opened_on_one_side_carries_bytes_both_ways_and_half_closes() {
    let ((relay, _), (engine, mut incoming)) = link();
    assert!(relay.peer_ready().await && engine.peer_ready().await);
    let mut agent_side = relay.open(47).expect("open");
    agent_side
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .await
        .expect("write");
    agent_side.shutdown().await.expect("half-close");

    let (door, mut gateway_side) = incoming.recv().await.expect("a stream");
    assert_eq!(door, 47);
    let mut request = Vec::new();
    gateway_side
        .read_to_end(&mut request)
        .await
        .expect("read to the half-close");
    assert_eq!(request, b"GET / HTTP/1.1\r\n\r\n");
    gateway_side
        .write_all(b"HTTP/1.1 200 OK\r\n\r\nhi")
        .await
        .expect("answer");
    gateway_side.shutdown().await.expect("done");
    let mut answer = Vec::new();
    agent_side
        .read_to_end(&mut answer)
        .await
        .expect("answer read");
    assert_eq!(answer, b"HTTP/1.1 200 OK\r\n\r\nhi");
}

#[tokio::test]
async fn megabytes_arrive_intact_in_order() {
    let ((relay, _), (_engine, mut incoming)) = link();
    let data: Vec<u8> = (0..5_000_000u32)
        .map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes()[2])
        .collect();
    let mut sender = relay.open(1).expect("open");
    let sent = data.clone();
    let writer = tokio::spawn(async move {
        sender.write_all(&sent).await.expect("write");
        sender.shutdown().await.expect("close");
    });
    let (_, mut receiver) = incoming.recv().await.expect("stream");
    let mut got = Vec::new();
    receiver.read_to_end(&mut got).await.expect("read");
    writer.await.expect("writer");
    assert_eq!(got.len(), data.len());
    assert!(got == data, "same bytes in the same order");
}

#[tokio::test]
async fn a_stalled_stream_holds_up_only_itself() {
    let ((relay, _), (_engine, mut incoming)) = link();
    // Stream A's reader never reads; its writer fills the window and waits.
    let mut a = relay.open(1).expect("open a");
    let stalled = tokio::spawn(async move {
        let _ = a.write_all(&vec![7u8; 4 * WINDOW as usize]).await;
        a
    });
    let (_, _a_reader_that_never_reads) = incoming.recv().await.expect("a");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!stalled.is_finished(), "A waits for room");

    // Stream B still goes through, both ways.
    let mut b = relay.open(2).expect("open b");
    let (_, mut b_far) = incoming.recv().await.expect("b");
    let round_trip = async {
        b.write_all(b"ping").await.expect("write");
        let mut four = [0u8; 4];
        b_far.read_exact(&mut four).await.expect("read");
        b_far.write_all(b"pong").await.expect("write back");
        b.read_exact(&mut four).await.expect("read back");
        four
    };
    let got = tokio::time::timeout(Duration::from_secs(5), round_trip)
        .await
        .expect("B is not held up by A");
    assert_eq!(&got, b"pong");
    stalled.abort();
}

#[tokio::test]
async fn when_the_link_ends_every_stream_ends_and_nothing_new_opens() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (ar, aw) = tokio::io::split(a);
    let (relay, _) = Mux::start(ar, aw, Role::Relay);
    let mut s = relay.open(3).expect("open");
    drop(b); // the other end goes (the exec ended)
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("the stream ends rather than hangs");
    assert!(matches!(read, Ok(0) | Err(_)));
    tokio::time::timeout(Duration::from_secs(5), async {
        while !relay.is_closed() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the mux knows");
    assert!(relay.open(4).is_err());
    assert!(!relay.peer_ready().await, "no hello ever came");
}

#[tokio::test]
async fn garbage_on_the_link_ends_it() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (ar, aw) = tokio::io::split(a);
    let (engine, _) = Mux::start(ar, aw, Role::Engine);
    let (_br, mut bw) = tokio::io::split(b);
    // A header with an unknown kind.
    bw.write_all(&[0, 0, 0, 1, 0xee, 0, 0, 0, 0])
        .await
        .expect("write");
    tokio::time::timeout(Duration::from_secs(5), async {
        while !engine.is_closed() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("a bad frame closes the link");
}

/// An engine end and the raw other end of its link, for a peer that writes its own frames.
fn engine_and_raw_peer() -> (
    Mux,
    corral_relay::mux::Incoming,
    tokio::io::ReadHalf<tokio::io::DuplexStream>,
    tokio::io::WriteHalf<tokio::io::DuplexStream>,
) {
    let (a, b) = tokio::io::duplex(1024 * 1024);
    let (ar, aw) = tokio::io::split(a);
    let (engine, incoming) = Mux::start(ar, aw, Role::Engine);
    let (br, bw) = tokio::io::split(b);
    (engine, incoming, br, bw)
}

async fn send(w: &mut tokio::io::WriteHalf<tokio::io::DuplexStream>, frames: &[Frame]) {
    let mut buf = bytes::BytesMut::new();
    for f in frames {
        f.encode(&mut buf).expect("encode");
    }
    w.write_all(&buf).await.expect("write");
}

async fn closes(mux: &Mux) -> bool {
    tokio::time::timeout(Duration::from_secs(5), async {
        while !mux.is_closed() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn a_peer_sending_past_its_window_is_cut_off() {
    let (engine, mut incoming, _r, mut w) = engine_and_raw_peer();
    send(&mut w, &[Frame::new(1, Kind::Open, vec![1])]).await;
    // Nobody reads the stream: an honest peer stops at WINDOW bytes.
    let (_door, _stream) = incoming.recv().await.expect("opened");
    let chunk = vec![7u8; 64 * 1024];
    let frames: Vec<Frame> = (0..(WINDOW as usize / chunk.len() + 1))
        .map(|_| Frame::new(1, Kind::Data, chunk.clone()))
        .collect();
    send(&mut w, &frames).await;
    assert!(
        closes(&engine).await,
        "a flood past the window ends the link"
    );
}

#[tokio::test]
async fn a_peer_granting_room_it_was_never_asked_for_is_cut_off() {
    let (engine, _incoming, _r, mut w) = engine_and_raw_peer();
    let _ours = engine.open(1).expect("open");
    // Stream 2 is ours (the engine opens even ids); nothing was sent on it yet.
    send(
        &mut w,
        &[Frame::new(2, Kind::Window, u32::MAX.to_be_bytes().to_vec())],
    )
    .await;
    assert!(closes(&engine).await, "a forged window ends the link");
}

#[tokio::test]
async fn a_peer_opening_a_stream_with_our_id_or_twice_is_cut_off() {
    let (engine, _incoming, _r, mut w) = engine_and_raw_peer();
    send(&mut w, &[Frame::new(2, Kind::Open, vec![1])]).await;
    assert!(
        closes(&engine).await,
        "an even id from the relay ends the link"
    );

    let (engine, _incoming, _r, mut w) = engine_and_raw_peer();
    send(
        &mut w,
        &[
            Frame::new(3, Kind::Open, vec![1]),
            Frame::new(3, Kind::Open, vec![1]),
        ],
    )
    .await;
    assert!(closes(&engine).await, "a reused id ends the link");
}

#[tokio::test]
async fn a_peer_opening_too_many_streams_or_sending_empty_data_is_cut_off() {
    let (engine, mut incoming, _r, mut w) = engine_and_raw_peer();
    let frames: Vec<Frame> = (0..=MAX_PEER_STREAMS as u32)
        .map(|i| Frame::new(2 * i + 1, Kind::Open, vec![1]))
        .collect();
    send(&mut w, &frames).await;
    assert!(
        closes(&engine).await,
        "one stream past the limit ends the link"
    );
    let mut opened = 0;
    while incoming.try_recv().is_ok() {
        opened += 1;
    }
    assert_eq!(
        opened, MAX_PEER_STREAMS,
        "none past the limit was handed out"
    );

    // Empty data frames use no window, so they could be sent without end.
    let (engine, _incoming, _r, mut w) = engine_and_raw_peer();
    send(
        &mut w,
        &[
            Frame::new(1, Kind::Open, vec![1]),
            Frame::new(1, Kind::Data, Vec::new()),
        ],
    )
    .await;
    assert!(closes(&engine).await, "an empty data frame ends the link");
}

#[tokio::test]
async fn a_link_shut_down_from_this_side_takes_nothing_more() {
    let (engine, mut incoming, _r, mut w) = engine_and_raw_peer();
    engine.shutdown();
    send(&mut w, &[Frame::new(1, Kind::Open, vec![1])]).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        incoming.try_recv().is_err(),
        "no stream opened after the shutdown"
    );
}
