//! Support shared by the fault and concurrency tests: a raw HTTP/1.1 server on 127.0.0.1 whose
//! connections misbehave on purpose (cut a body with a TCP reset, stream forever), and a
//! request helper.
#![allow(dead_code)] // each test file uses part of it

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// A one-message request for `model` with `prompt`.
pub fn request(model: &str, prompt: &str) -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model(model)
        .messages([ChatCompletionRequestUserMessage::from(prompt).into()])
        .build()
        .unwrap()
}

/// What the raw server does with each connection, once it has read the whole request.
#[derive(Debug, Clone)]
pub enum Script {
    /// `200` with `Content-Length` of the whole `body`, only its first `sent` bytes, a pause so
    /// the client reads them, then a TCP reset (`SO_LINGER` 0).
    ResetMidBody { body: String, sent: usize },
    /// `200` `text/event-stream` (chunked) with each of `events` as one `data:` event, a pause,
    /// then a TCP reset: no terminal chunk, no `[DONE]`.
    SseThenReset { events: Vec<String> },
    /// `200` `text/event-stream` (chunked), `event` as one `data:` event every `interval`,
    /// until the client goes away.
    SseForever { event: String, interval: Duration },
}

/// A raw HTTP/1.1 server on 127.0.0.1 running a [`Script`] on every connection.
pub struct RawServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    requests: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
}

impl RawServer {
    pub async fn start(script: Script) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let requests = Arc::clone(&requests);
            let closed = Arc::clone(&closed);
            async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let script = script.clone();
                    let requests = Arc::clone(&requests);
                    let closed = Arc::clone(&closed);
                    tokio::spawn(async move {
                        let _ = serve(socket, &script, &requests).await;
                        closed.fetch_add(1, Ordering::SeqCst);
                    });
                }
            }
        });
        RawServer {
            addr,
            task,
            requests,
            closed,
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

    /// How many connections have ended, on either side.
    pub fn closed_connections(&self) -> usize {
        self.closed.load(Ordering::SeqCst)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one whole request: headers, then `Content-Length` bytes of body.
async fn read_request(socket: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = socket.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(buf.split_off(end + 4));
        }
    }
}

/// Between the bytes sent and the reset. (Linux hands the client the bytes received before a
/// reset first, so the outcome does not depend on it; the pause only makes the cut mid-read.)
const PAUSE: Duration = Duration::from_millis(20);

fn chunk(data: &str) -> String {
    format!("{:x}\r\n{data}\r\n", data.len())
}

async fn serve(
    mut socket: TcpStream,
    script: &Script,
    requests: &AtomicUsize,
) -> std::io::Result<()> {
    read_request(&mut socket).await?;
    requests.fetch_add(1, Ordering::SeqCst);
    match script {
        Script::ResetMidBody { body, sent } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(&body.as_bytes()[..*sent]).await?;
            socket.flush().await?;
            tokio::time::sleep(PAUSE).await;
            socket.set_zero_linger()?;
            drop(socket); // RST
        }
        Script::SseThenReset { events } => {
            socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
                )
                .await?;
            for event in events {
                socket
                    .write_all(chunk(&format!("data: {event}\n\n")).as_bytes())
                    .await?;
            }
            socket.flush().await?;
            tokio::time::sleep(PAUSE).await;
            socket.set_zero_linger()?;
            drop(socket); // RST
        }
        Script::SseForever { event, interval } => {
            socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
                )
                .await?;
            let data = chunk(&format!("data: {event}\n\n"));
            let mut probe = [0u8; 64];
            loop {
                socket.write_all(data.as_bytes()).await?;
                socket.flush().await?;
                // Wait for the next tick, or notice the client closing the connection.
                tokio::select! {
                    _ = tokio::time::sleep(*interval) => {}
                    read = socket.read(&mut probe) => match read {
                        Ok(0) | Err(_) => return Ok(()),
                        Ok(_) => {}
                    },
                }
            }
        }
    }
    Ok(())
}
