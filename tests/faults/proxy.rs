//! A TCP proxy between a primary and its replica that can hold back the replication stream, or
//! cut the link in both directions (a network partition: `cut`).
//!
//! Why not just SIGSTOP the replica: while a replica is stopped the kernel still receives the
//! stream into its socket buffer (loopback buffers hold megabytes), and once it runs again it
//! applies that before it notices its primary is gone. idgen's stream is small (a reservation a
//! few times a second per key), so a stopped replica lost none of it: with the safety jump
//! turned off the failover scenario still found no repeat. The proxy makes the lag real: while
//! it holds, what the primary sends stays in the proxy, and when the primary dies it is
//! dropped, as a lagging replica loses what was in flight when its primary crashed.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

struct Shared {
    upstream: u16,
    hold: AtomicBool,
    /// A partition: nothing passes in either direction and no end sees the other close (the
    /// sockets are left as they are until the proxy closes), as when packets are lost.
    cut: AtomicBool,
    stop: AtomicBool,
    /// Bytes from the primary never delivered (held when it died).
    dropped: AtomicU64,
}

pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards every connection to `upstream`.
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            upstream,
            hold: AtomicBool::new(false),
            cut: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        });
        let s = shared.clone();
        let accept = thread::spawn(move || {
            let mut pumps = Vec::new();
            while !s.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((replica, _)) => {
                        if s.cut.load(Ordering::Relaxed) {
                            // Nothing reaches the primary; the socket closes with the proxy.
                            pumps.push(thread::spawn({
                                let s = s.clone();
                                move || {
                                    while !s.stop.load(Ordering::Relaxed) {
                                        thread::sleep(Duration::from_millis(20));
                                    }
                                    drop(replica);
                                }
                            }));
                            continue;
                        }
                        replica.set_nonblocking(false).unwrap();
                        let Ok(primary) = TcpStream::connect(("127.0.0.1", s.upstream)) else {
                            let _ = replica.shutdown(Shutdown::Both);
                            continue;
                        };
                        for sock in [&replica, &primary] {
                            sock.set_nodelay(true).unwrap();
                            sock.set_read_timeout(Some(Duration::from_millis(20)))
                                .unwrap();
                        }
                        let (r2, p2) = (replica.try_clone().unwrap(), primary.try_clone().unwrap());
                        let (sd, su) = (s.clone(), s.clone());
                        pumps.push(thread::spawn(move || down(primary, replica, &sd)));
                        pumps.push(thread::spawn(move || up(r2, p2, &su)));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
            for p in pumps {
                let _ = p.join();
            }
        });
        Proxy {
            port,
            shared,
            accept: Some(accept),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// From now on the primary's stream is held back, not delivered.
    pub fn hold(&self) {
        self.shared.hold.store(true, Ordering::Relaxed);
    }

    /// From now on the link is cut both ways: the primary's stream and the replica's
    /// acknowledgements stay where they are, and neither end sees the connection close (until
    /// the proxy closes). New connections are held the same way.
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::Relaxed);
    }

    /// Stops the proxy; returns the bytes the replica never got because the primary died while
    /// they were held.
    pub fn close(mut self) -> u64 {
        self.stop();
        self.shared.dropped.load(Ordering::Relaxed)
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Primary -> replica, holding back while `hold` is set. When the primary's side ends, whatever
/// is held is dropped and the replica's connection is closed.
fn down(mut primary: TcpStream, mut replica: TcpStream, s: &Shared) {
    let mut held: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while !s.stop.load(Ordering::Relaxed) {
        if s.cut.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(20));
            continue;
        }
        match primary.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if s.hold.load(Ordering::Relaxed) {
                    held.extend_from_slice(&buf[..n]);
                } else {
                    if !held.is_empty() {
                        if replica.write_all(&held).is_err() {
                            break;
                        }
                        held.clear();
                    }
                    if replica.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    s.dropped.fetch_add(held.len() as u64, Ordering::Relaxed);
    let _ = replica.shutdown(Shutdown::Both);
    let _ = primary.shutdown(Shutdown::Both);
}

/// Replica -> primary (PSYNC, REPLCONF ACK): passed on as is.
fn up(mut replica: TcpStream, mut primary: TcpStream, s: &Shared) {
    let mut buf = vec![0u8; 16 * 1024];
    while !s.stop.load(Ordering::Relaxed) {
        if s.cut.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(20));
            continue;
        }
        match replica.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if primary.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let _ = replica.shutdown(Shutdown::Both);
    let _ = primary.shutdown(Shutdown::Both);
}
