//! A hostile HTTP/1.1 server on 127.0.0.1: it writes exactly the bytes it is told to (status
//! lines, headers, JSON bodies, SSE streams), resets connections, streams forever or slowly, and
//! redirects to itself. It runs on a thread and runtime of its own, so that its allocations are
//! not counted as the client's. Everything is bounded: each connection ends within
//! [`CONNECTION_LIMIT`], an endless stream stops at [`ENDLESS_BYTES`], and the server stops when
//! dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// No connection lives longer than this, whatever its reply.
pub const CONNECTION_LIMIT: Duration = Duration::from_secs(20);
/// An endless stream stops after this many bytes even if the client never goes away.
pub const ENDLESS_BYTES: usize = 64 * 1024 * 1024;
/// The largest request the server reads (the client's requests are small).
const MAX_REQUEST: usize = 1024 * 1024;

/// What the server answers to every request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// These exact bytes (status line, headers and body), then the connection is closed.
    Bytes(Arc<[u8]>),
    /// `head` and the first `sent` bytes of `body` (whose whole length `head` announces), a
    /// pause, then a TCP reset.
    ResetMidBody {
        head: String,
        body: Arc<[u8]>,
        sent: usize,
    },
    /// A `307` to `location` (a path and query on this server).
    Redirect { location: Arc<str> },
    /// An SSE stream (chunked) of `event` every `interval`, `count` times (`None`: until the
    /// client goes away or [`ENDLESS_BYTES`] are sent), then `[DONE]`.
    Paced {
        event: Arc<str>,
        interval: Duration,
        count: Option<usize>,
    },
}

impl Reply {
    /// A JSON body with `status`.
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::Bytes(
            format!(
                "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                reason(status),
                body.len()
            )
            .into_bytes()
            .into(),
        )
    }

    /// A whole SSE body: each of `events` as a `data:` event (or, when it starts with `event:`,
    /// as written), then `[DONE]` unless `done` is false.
    pub fn sse<S: AsRef<str>>(events: &[S], done: bool) -> Reply {
        let mut body = String::new();
        for event in events {
            let event = event.as_ref();
            if event.starts_with("event:") {
                body.push_str(event);
            } else {
                body.push_str("data: ");
                body.push_str(event);
            }
            body.push_str("\n\n");
        }
        if done {
            body.push_str("data: [DONE]\n\n");
        }
        Reply::Bytes(
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
            .into(),
        )
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

/// The server; stops when dropped.
pub struct HostileServer {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HostileServer {
    /// Starts a server answering every request with `reply`.
    pub fn start(reply: Reply) -> HostileServer {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn({
            let requests = Arc::clone(&requests);
            move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(std_listener).unwrap();
                    let accept = async {
                        while let Ok((socket, _)) = listener.accept().await {
                            let reply = reply.clone();
                            let requests = Arc::clone(&requests);
                            tokio::spawn(async move {
                                let _ = tokio::time::timeout(
                                    CONNECTION_LIMIT,
                                    serve(socket, &reply, &requests),
                                )
                                .await;
                            });
                        }
                    };
                    tokio::select! {
                        _ = accept => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime ends every connection still open.
            }
        });
        HostileServer {
            addr,
            requests,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// How many requests the server has read.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request: headers, then `Content-Length` bytes of body (at most [`MAX_REQUEST`]).
async fn read_request(socket: &mut TcpStream) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 || buf.len() > MAX_REQUEST {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
                .min(MAX_REQUEST);
            while buf.len() < end + 4 + length {
                let n = socket.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(());
        }
    }
}

fn chunk(data: &str) -> String {
    format!("{:x}\r\n{data}\r\n", data.len())
}

async fn serve(
    mut socket: TcpStream,
    reply: &Reply,
    requests: &AtomicUsize,
) -> std::io::Result<()> {
    // One request per connection: every reply closes it.
    read_request(&mut socket).await?;
    requests.fetch_add(1, Ordering::SeqCst);
    match reply {
        Reply::Bytes(bytes) => {
            socket.write_all(bytes).await?;
            socket.flush().await?;
            socket.shutdown().await?;
            // Let the client read to the end before the socket is dropped.
            let mut sink = [0u8; 1024];
            while socket.read(&mut sink).await? > 0 {}
        }
        Reply::ResetMidBody { head, body, sent } => {
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(&body[..*sent]).await?;
            socket.flush().await?;
            tokio::time::sleep(Duration::from_millis(20)).await;
            socket.set_zero_linger()?;
            drop(socket); // RST
        }
        Reply::Redirect { location } => {
            let head = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            socket.write_all(head.as_bytes()).await?;
            socket.flush().await?;
        }
        Reply::Paced {
            event,
            interval,
            count,
        } => {
            socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
                )
                .await?;
            let data = chunk(&format!("data: {event}\n\n"));
            let mut sent = 0;
            let mut probe = [0u8; 64];
            let mut n = 0;
            while count.is_none_or(|count| n < count) && sent < ENDLESS_BYTES {
                socket.write_all(data.as_bytes()).await?;
                socket.flush().await?;
                sent += data.len();
                n += 1;
                // Wait for the next tick, or notice the client closing the connection.
                tokio::select! {
                    _ = tokio::time::sleep(*interval) => {}
                    read = socket.read(&mut probe) => match read {
                        Ok(0) | Err(_) => return Ok(()),
                        Ok(_) => {}
                    },
                }
            }
            socket
                .write_all(chunk("data: [DONE]\n\n").as_bytes())
                .await?;
            socket.write_all(b"0\r\n\r\n").await?;
            socket.flush().await?;
        }
    }
    Ok(())
}
