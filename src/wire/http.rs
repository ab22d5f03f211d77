//! HTTP/1 on top of hyper: the accept loop of every server and the client's
//! one-request exchange with its timeout.
//!
//! Everything runs on the current thread (`spawn_local` inside a
//! `LocalSet`): turmoil runs every host on one thread, and the live tier
//! does the same so that both share the servers' `Rc` state unchanged.
//! Nothing here uses `tokio::select!`: its branch order is random unless
//! tokio is built with `--cfg tokio_unstable`, so the client drives its
//! connection with a hand-written, fixed-order poll instead.

use super::api::{Exchange, BODY_BYTES_MAX};
use super::net::{Listener, Transport};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, RETRY_AFTER};
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

/// A request as the servers' handlers see it: the body is already read.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: Method,
    pub path: String,
    /// The `Authorization: Bearer …` token, if any.
    pub bearer: Option<String>,
    pub body: Bytes,
}

/// A handler's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resp {
    pub status: u16,
    pub body: String,
    pub retry_after_s: Option<u32>,
}

impl Resp {
    pub fn new(status: u16, body: impl Into<String>) -> Resp {
        Resp {
            status,
            body: body.into(),
            retry_after_s: None,
        }
    }
    pub fn json<T: serde::Serialize>(status: u16, v: &T) -> Resp {
        match serde_json::to_string(v) {
            Ok(body) => Resp::new(status, body),
            Err(e) => Resp::new(500, super::api::error_json(&e.to_string())),
        }
    }
    pub fn error(status: u16, what: &str) -> Resp {
        Resp::new(status, super::api::error_json(what))
    }
}

/// A server's request handler.
pub type Handler = Rc<dyn Fn(Req) -> Pin<Box<dyn Future<Output = Resp>>>>;

/// What a server grants its clients, so that slow or many clients cannot
/// stop it: open connections at once (more are closed on accept), time for
/// a request's headers from the moment the connection opens (bounds idle
/// sockets), and time for its body after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    pub connections_max: usize,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            connections_max: 512,
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
        }
    }
}
/// Pause after a failed accept before the next.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Serves connections from `listener` with `handler` until accepting fails.
pub async fn serve<L: Listener>(listener: L, handler: Handler) -> std::io::Result<()> {
    serve_with(listener, handler, ServerLimits::default()).await
}

/// [`serve`] with its limits given.
pub async fn serve_with<L: Listener>(
    listener: L,
    handler: Handler,
    limits: ServerLimits,
) -> std::io::Result<()> {
    let open = Rc::new(std::cell::Cell::new(0usize));
    loop {
        let stream = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors, a reset before accept: the
                // listener stays; wait a little and accept again.
                tracing::warn!("accept failed: {e}; retrying");
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        if open.get() >= limits.connections_max {
            // Refused by closing at once: a flood cannot exhaust the server.
            drop(stream);
            continue;
        }
        open.set(open.get() + 1);
        let open = open.clone();
        let handler = handler.clone();
        tokio::task::spawn_local(async move {
            serve_connection(stream, handler, limits).await;
            open.set(open.get() - 1);
        });
    }
}

async fn serve_connection<S>(stream: S, handler: Handler, limits: ServerLimits)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
{
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let h = handler.clone();
        async move { Ok::<_, Infallible>(handle(h, req, limits.body_read_timeout).await) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        // The Date header reads the wall clock: leave it out of the simulation.
        .auto_date_header(false)
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // One request per connection, as the clients do.
        .keep_alive(false);
    // A broken connection is the client's problem; the server carries on.
    let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
}

async fn handle(
    h: Handler,
    req: Request<Incoming>,
    body_read_timeout: Duration,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = tokio::time::timeout(
        body_read_timeout,
        Limited::new(body, BODY_BYTES_MAX).collect(),
    );
    let resp = match body.await {
        Err(_) => Resp::error(408, "body not received in time"),
        Ok(Err(_)) => Resp::error(413, "body too large or broken"),
        Ok(Ok(b)) => {
            let bearer = parts
                .headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_string);
            h(Req {
                method: parts.method,
                path: parts.uri.path().to_string(),
                bearer,
                body: b.to_bytes(),
            })
            .await
        }
    };
    let mut r = Response::builder().status(resp.status).header(
        CONTENT_TYPE,
        if resp.body.starts_with('{') {
            "application/json"
        } else {
            "text/plain"
        },
    );
    if let Some(s) = resp.retry_after_s {
        r = r.header(RETRY_AFTER, s);
    }
    r.body(Full::new(Bytes::from(resp.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::from_static(b"bad response"))))
}

/// One request on a fresh connection, bounded by `timeout` end to end
/// (connect, send, response and body).
pub async fn exchange<T: Transport>(
    transport: &T,
    authority: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<String>,
    timeout: Duration,
) -> Exchange {
    let inner = exchange_inner(transport, authority, method, path, bearer, body);
    match tokio::time::timeout(timeout, inner).await {
        Err(_) => Exchange::Timeout,
        Ok(Some(x)) => x,
        Ok(None) => Exchange::ConnectionError,
    }
}

async fn exchange_inner<T: Transport>(
    transport: &T,
    authority: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<String>,
) -> Option<Exchange> {
    let stream = transport.connect(authority).await.ok()?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
            .await
            .ok()?;
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, authority);
    if let Some(t) = bearer {
        req = req.header(AUTHORIZATION, format!("Bearer {t}"));
    }
    if body.is_some() {
        req = req.header(CONTENT_TYPE, "application/json");
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .ok()?;
    let response = async move {
        let resp = sender.send_request(req).await.ok()?;
        let status = resp.status().as_u16();
        let retry_after_s = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse().ok());
        let body = Limited::new(resp.into_body(), BODY_BYTES_MAX)
            .collect()
            .await
            .ok()?
            .to_bytes();
        Some(Exchange::Reply {
            status,
            retry_after_s,
            body: body.to_vec(),
        })
    };
    drive(conn, response).await
}

/// Polls the response first, then the connection that feeds it, in that
/// fixed order (no spawned task, so a timeout drops the whole exchange).
async fn drive<C, R>(conn: C, response: R) -> Option<Exchange>
where
    C: Future<Output = hyper::Result<()>>,
    R: Future<Output = Option<Exchange>>,
{
    let mut conn = pin!(conn);
    let mut response = pin!(response);
    let mut conn_done = false;
    poll_fn(|cx| {
        if let Poll::Ready(r) = response.as_mut().poll(cx) {
            return Poll::Ready(r);
        }
        if !conn_done {
            if let Poll::Ready(r) = conn.as_mut().poll(cx) {
                conn_done = true;
                if r.is_err() {
                    return Poll::Ready(None);
                }
                // The connection ended cleanly: the response is complete
                // or its sender is gone; either way it resolves now.
                return response.as_mut().poll(cx);
            }
        }
        Poll::Pending
    })
    .await
}
