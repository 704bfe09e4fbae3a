//! Many streams over one link. Either side may open a stream (the relay opens odd ids, the
//! engine even ones); each stream is handed to its user as a `DuplexStream`. Each direction of
//! each stream has a window of `WINDOW` bytes: a sender sends no more than the receiver has
//! made room for, so a stream whose reader stalls holds up only itself. A bad frame, or the
//! link ending, ends every stream.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use crate::frame::{Frame, FrameError, Kind, MAX_PAYLOAD};

/// Which service a stream is for (the port the relay accepted it on maps to one).
pub type Door = u8;

/// Bytes a sender may have in flight on one stream before the receiver makes room.
pub const WINDOW: u32 = 256 * 1024;
/// The protocol version sent in `Hello`.
pub const VERSION: u8 = 1;
/// Streams the peer may have open at once; opening more breaks the protocol (the relay keeps
/// to `relay::MAX_CONNECTIONS`, well under it).
pub const MAX_PEER_STREAMS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Inside the sandbox: opens odd stream ids.
    Relay,
    /// Corral's side: opens even stream ids.
    Engine,
}

#[derive(Debug, thiserror::Error)]
pub enum MuxError {
    #[error("the link is closed")]
    Closed,
    #[error("the link sent a bad frame: {0}")]
    Frame(#[from] FrameError),
    #[error("the link failed: {0}")]
    Io(#[from] std::io::Error),
    /// The peer broke the protocol (sent past its window, granted room it was never asked
    /// for, reused a stream id): the link is ended, since nothing it sends can be trusted.
    #[error("the peer broke the protocol: {0}")]
    Protocol(&'static str),
}

/// What the demultiplexer hands a stream's inbound pump.
#[derive(Debug)]
enum Inbound {
    Data(Bytes),
    Eof,
}

#[derive(Debug)]
struct StreamSide {
    inbound: mpsc::UnboundedSender<Inbound>,
    /// Room the peer has made for this side's data.
    credit: Arc<Semaphore>,
    /// Bytes the peer may still send before it must wait for a `Window` from us.
    recv_room: Arc<AtomicU32>,
    /// Tells this stream from a later one with the same id.
    generation: u64,
    pumps: Vec<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    out: mpsc::UnboundedSender<Frame>,
    streams: Mutex<HashMap<u32, StreamSide>>,
    next_id: AtomicU32,
    generations: std::sync::atomic::AtomicU64,
    closed: watch::Sender<bool>,
    /// Wakes the writer when the link ends from the reading side.
    ended: tokio::sync::Notify,
    incoming: mpsc::UnboundedSender<(Door, DuplexStream)>,
    /// Whether the peer's stream ids are odd (it is the relay).
    peer_odd: bool,
}

/// One end of a link.
#[derive(Debug, Clone)]
pub struct Mux {
    shared: Arc<Shared>,
    ready: watch::Receiver<bool>,
}

/// Streams the peer opened, with their door.
pub type Incoming = mpsc::UnboundedReceiver<(Door, DuplexStream)>;

impl Mux {
    /// Runs the link over `reader` and `writer` until either ends or a bad frame arrives.
    /// Must be called within a Tokio runtime.
    pub fn start<R, W>(reader: R, writer: W, role: Role) -> (Mux, Incoming)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (out, out_rx) = mpsc::unbounded_channel();
        let (incoming, incoming_rx) = mpsc::unbounded_channel();
        let (ready_tx, ready) = watch::channel(false);
        let shared = Arc::new(Shared {
            out,
            streams: Mutex::new(HashMap::new()),
            generations: std::sync::atomic::AtomicU64::new(0),
            next_id: AtomicU32::new(match role {
                Role::Relay => 1,
                Role::Engine => 2,
            }),
            closed: watch::Sender::new(false),
            ended: tokio::sync::Notify::new(),
            incoming,
            peer_odd: role == Role::Engine,
        });
        tokio::spawn(write_link(writer, out_rx, shared.clone()));
        tokio::spawn(read_link(reader, shared.clone(), ready_tx));
        let _ = shared.out.send(Frame::new(0, Kind::Hello, vec![VERSION]));
        (Mux { shared, ready }, incoming_rx)
    }

    /// Waits until the peer said hello; false when the link ended first.
    pub async fn peer_ready(&self) -> bool {
        let mut ready = self.ready.clone();
        ready.wait_for(|r| *r).await.is_ok()
    }

    /// Whether the link has ended.
    pub fn is_closed(&self) -> bool {
        *self.shared.closed.borrow()
    }

    /// Waits until the link has ended.
    pub async fn closed(&self) {
        let mut closed = self.shared.closed.subscribe();
        let _ = closed.wait_for(|c| *c).await;
    }

    /// Ends the link from this side: every stream ends, and the writer lets go of its end of
    /// the byte stream (so the peer reads its end).
    pub fn shutdown(&self) {
        close(&self.shared);
    }

    /// Opens a stream to the peer's `door`.
    pub fn open(&self, door: Door) -> Result<DuplexStream, MuxError> {
        if self.is_closed() {
            return Err(MuxError::Closed);
        }
        let id = self.shared.next_id.fetch_add(2, Ordering::SeqCst);
        let app = add_stream(&self.shared, id);
        self.shared
            .out
            .send(Frame::new(id, Kind::Open, vec![door]))
            .map_err(|_| MuxError::Closed)?;
        Ok(app)
    }
}

/// Makes stream `id`: its user's end is returned, its pumps are started.
fn add_stream(shared: &Arc<Shared>, id: u32) -> DuplexStream {
    let (app, ours) = tokio::io::duplex(WINDOW as usize);
    let (mut our_read, mut our_write) = tokio::io::split(ours);
    let (inbound, mut inbound_rx) = mpsc::unbounded_channel::<Inbound>();
    let credit = Arc::new(Semaphore::new(WINDOW as usize));
    let recv_room = Arc::new(AtomicU32::new(WINDOW));
    let finished = Arc::new(AtomicU8::new(0));
    let generation = shared.generations.fetch_add(1, Ordering::SeqCst);
    // The second pump to finish forgets the stream (not a later one that took its id).
    let done = {
        let (shared, finished) = (Arc::downgrade(shared), finished.clone());
        move || {
            if finished.fetch_add(1, Ordering::SeqCst) == 1
                && let Some(shared) = shared.upgrade()
            {
                let mut streams = lock(&shared.streams);
                if streams.get(&id).is_some_and(|s| s.generation == generation) {
                    streams.remove(&id);
                }
            }
        }
    };
    let out = shared.out.clone();
    let send_credit = credit.clone();
    let done_out = done.clone();
    // The user's writes go out as DATA, within the room the peer made.
    let outbound = tokio::spawn(async move {
        let mut buf = vec![0u8; MAX_PAYLOAD];
        loop {
            let n = match our_read.read(&mut buf).await {
                Ok(0) => {
                    let _ = out.send(Frame::new(id, Kind::Eof, Bytes::new()));
                    break;
                }
                Ok(n) => n,
                Err(_) => {
                    let _ = out.send(Frame::new(id, Kind::Reset, Bytes::new()));
                    break;
                }
            };
            let Ok(permits) = u32::try_from(n) else { break };
            match send_credit.acquire_many(permits).await {
                Ok(p) => p.forget(),
                Err(_) => break,
            }
            if out
                .send(Frame::new(
                    id,
                    Kind::Data,
                    Bytes::copy_from_slice(&buf[..n]),
                ))
                .is_err()
            {
                break;
            }
        }
        done_out();
    });
    let out = shared.out.clone();
    let room_back = recv_room.clone();
    // The peer's DATA goes to the user; once written, the peer may send that much more.
    let inbound_pump = tokio::spawn(async move {
        while let Some(message) = inbound_rx.recv().await {
            match message {
                Inbound::Data(bytes) => {
                    if our_write.write_all(&bytes).await.is_err() {
                        let _ = out.send(Frame::new(id, Kind::Reset, Bytes::new()));
                        break;
                    }
                    let room = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
                    room_back.fetch_add(room, Ordering::SeqCst);
                    let _ = out.send(Frame::new(id, Kind::Window, room.to_be_bytes().to_vec()));
                }
                Inbound::Eof => {
                    let _ = our_write.shutdown().await;
                    break;
                }
            }
        }
        done();
    });
    lock(&shared.streams).insert(
        id,
        StreamSide {
            inbound,
            credit,
            recv_room,
            generation,
            pumps: vec![outbound, inbound_pump],
        },
    );
    app
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn write_link<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut frames: mpsc::UnboundedReceiver<Frame>,
    shared: Arc<Shared>,
) {
    let mut buf = BytesMut::new();
    loop {
        let frame = tokio::select! {
            frame = frames.recv() => frame,
            _ = shared.ended.notified() => None,
        };
        let Some(frame) = frame else { break };
        buf.clear();
        if frame.encode(&mut buf).is_err() {
            continue; // our own bug: a payload over the limit is never built
        }
        // Send what else is queued in the same write.
        while let Ok(next) = frames.try_recv() {
            if next.encode(&mut buf).is_err() {
                continue;
            }
            if buf.len() > 4 * MAX_PAYLOAD {
                break;
            }
        }
        if writer.write_all(&buf).await.is_err() || writer.flush().await.is_err() {
            break;
        }
    }
    // The peer reads the end (over a `docker exec`, the relay's stdin closes).
    let _ = writer.shutdown().await;
    close(&shared);
}

async fn read_link<R: AsyncRead + Unpin>(
    mut reader: R,
    shared: Arc<Shared>,
    ready: watch::Sender<bool>,
) {
    let mut buf = BytesMut::with_capacity(2 * MAX_PAYLOAD);
    let result: Result<(), MuxError> = async {
        loop {
            while let Some(frame) = Frame::decode(&mut buf)? {
                if *shared.closed.borrow() {
                    return Ok(()); // ended from this side: nothing more is taken
                }
                dispatch(&shared, frame, &ready)?;
            }
            if reader.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
        }
    }
    .await;
    if let Err(err) = result {
        tracing::warn!(error = %err, "the link ends");
    }
    close(&shared);
}

/// Acts on one frame from the peer. The peer may be hostile (the sandbox's side): it gets
/// no more memory than the windows it was given and at most `MAX_PEER_STREAMS` streams.
fn dispatch(
    shared: &Arc<Shared>,
    frame: Frame,
    ready: &watch::Sender<bool>,
) -> Result<(), MuxError> {
    let id = frame.stream;
    match frame.kind {
        Kind::Hello => {
            let _ = ready.send(true);
        }
        Kind::Open => {
            if (id % 2 == 1) != shared.peer_odd || id == 0 {
                return Err(MuxError::Protocol("opened a stream with one of our ids"));
            }
            {
                let streams = lock(&shared.streams);
                if streams.contains_key(&id) {
                    return Err(MuxError::Protocol("opened a stream that is open"));
                }
                let peer_streams = streams
                    .keys()
                    .filter(|k| (*k % 2 == 1) == shared.peer_odd)
                    .count();
                if peer_streams >= MAX_PEER_STREAMS {
                    return Err(MuxError::Protocol("opened too many streams"));
                }
            }
            let door = frame.payload.first().copied().unwrap_or(0);
            let app = add_stream(shared, id);
            let _ = shared.incoming.send((door, app));
        }
        Kind::Data => {
            if frame.payload.is_empty() {
                return Err(MuxError::Protocol("sent an empty data frame"));
            }
            if let Some(side) = lock(&shared.streams).get(&id) {
                let len = u32::try_from(frame.payload.len()).unwrap_or(u32::MAX);
                let taken =
                    side.recv_room
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |room| {
                            room.checked_sub(len)
                        });
                if taken.is_err() {
                    return Err(MuxError::Protocol("sent more than its window"));
                }
                let _ = side.inbound.send(Inbound::Data(frame.payload));
            }
        }
        Kind::Eof => {
            if let Some(side) = lock(&shared.streams).get(&id) {
                let _ = side.inbound.send(Inbound::Eof);
            }
        }
        Kind::Reset => {
            if let Some(side) = lock(&shared.streams).remove(&id) {
                side.pumps.iter().for_each(JoinHandle::abort);
            }
        }
        Kind::Window => {
            let room = <[u8; 4]>::try_from(frame.payload.as_ref())
                .map(u32::from_be_bytes)
                .unwrap_or(0);
            if let Some(side) = lock(&shared.streams).get(&id) {
                // Room is only ever given back for what was sent: never more than the window.
                if side.credit.available_permits() + room as usize > WINDOW as usize {
                    return Err(MuxError::Protocol("gave back more room than it was sent"));
                }
                side.credit.add_permits(room as usize);
            }
        }
    }
    Ok(())
}

/// The link ended: every stream ends with it.
fn close(shared: &Shared) {
    shared.closed.send_replace(true);
    shared.ended.notify_one();
    for (_, side) in lock(&shared.streams).drain() {
        side.credit.close();
        side.pumps.iter().for_each(JoinHandle::abort);
    }
}
