//! Transports: where bytes go. The same servers and the same agent driver run
//! over turmoil's simulated TCP (the wire tier) and over real sockets (the
//! live tier); only these two small traits differ.

use std::future::Future;
use std::io;
use tokio::io::{AsyncRead, AsyncWrite};

/// Opens client connections to `host:port`.
pub trait Transport: Clone + 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + 'static;
    fn connect(&self, authority: &str) -> impl Future<Output = io::Result<Self::Stream>>;
}

/// Accepts server connections.
pub trait Listener: 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + 'static;
    fn accept(&self) -> impl Future<Output = io::Result<Self::Stream>>;
}

/// turmoil's simulated network (host names resolve through turmoil's DNS).
#[derive(Clone, Copy, Debug, Default)]
pub struct SimNet;

impl Transport for SimNet {
    type Stream = turmoil::net::TcpStream;
    fn connect(&self, authority: &str) -> impl Future<Output = io::Result<Self::Stream>> {
        turmoil::net::TcpStream::connect(authority.to_string())
    }
}

impl Listener for turmoil::net::TcpListener {
    type Stream = turmoil::net::TcpStream;
    async fn accept(&self) -> io::Result<Self::Stream> {
        turmoil::net::TcpListener::accept(self)
            .await
            .map(|(s, _)| s)
    }
}

/// Real sockets (the live tier).
#[derive(Clone, Copy, Debug, Default)]
pub struct RealNet;

impl Transport for RealNet {
    type Stream = tokio::net::TcpStream;
    fn connect(&self, authority: &str) -> impl Future<Output = io::Result<Self::Stream>> {
        let a = authority.to_string();
        async move {
            let s = tokio::net::TcpStream::connect(a).await?;
            // Small request/response exchanges: do not wait for Nagle.
            s.set_nodelay(true)?;
            Ok(s)
        }
    }
}

impl Listener for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;
    async fn accept(&self) -> io::Result<Self::Stream> {
        let (s, _) = tokio::net::TcpListener::accept(self).await?;
        s.set_nodelay(true)?;
        Ok(s)
    }
}
