//! Tokio's part of the one driver ([`kafka_runtime_common::driver`]): its
//! tasks, sockets and timers.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use kafka_runtime_common::driver::{AsyncIo, Task};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::runtime::Handle;

/// Tokio's tasks, sockets and timers, on the runtime the producer was
/// built in.
pub(crate) struct TokioIo(pub(crate) Handle);

impl AsyncIo for TokioIo {
    type Tcp = Tcp;

    fn spawn(&self, task: Task) {
        // Detached: the driver and its connections end by themselves.
        drop(self.0.spawn(task));
    }

    // Not an `async fn`: the future must not borrow `self` ('static).
    #[allow(clippy::manual_async_fn)]
    fn connect(
        &self,
        host: String,
        port: u16,
    ) -> impl Future<Output = io::Result<Tcp>> + Send + 'static {
        async move {
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            // Requests are whole frames written at once; Nagle would only
            // add latency.
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
            Ok(Tcp(tcp))
        }
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send + 'static {
        tokio::time::sleep_until(deadline.into())
    }

    fn set_buffer_sizes(
        &self,
        tcp: &Tcp,
        send: Option<usize>,
        receive: Option<usize>,
    ) -> io::Result<()> {
        kafka_runtime_common::driver::set_buffer_sizes(
            socket2::SockRef::from(&tcp.0),
            send,
            receive,
        )
    }
}

/// A Tokio TCP stream as futures-io sees it.
pub(crate) struct Tcp(TcpStream);

impl futures_io::AsyncRead for Tcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        match Pin::new(&mut self.0).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl futures_io::AsyncWrite for Tcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use futures_lite::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn a_tcp_stream_reads_and_writes_through_futures_io() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let io = TokioIo(Handle::current());
        let (client, server) = tokio::join!(io.connect("127.0.0.1".to_owned(), port), async {
            listener.accept().await.unwrap().0
        });
        let mut client = client.unwrap();
        let mut server = Tcp(server);
        let parts = [io::IoSlice::new(b"ping "), io::IoSlice::new(b"pong")];
        let n = client.write_vectored(&parts).await.unwrap();
        client.write_all(&b"ping pong"[n..]).await.unwrap();
        client.close().await.unwrap();
        let mut got = String::new();
        server.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "ping pong");
        let before = Instant::now();
        io.sleep_until(before + std::time::Duration::from_millis(20))
            .await;
        assert!(before.elapsed() >= std::time::Duration::from_millis(20));
    }
}
