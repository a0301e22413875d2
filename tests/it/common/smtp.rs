//! A real SMTP server on loopback (mailin-embedded) that keeps what it receives.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use mailin_embedded::{response, Handler, Response, Server};

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Clone, Default)]
pub struct Inbox(Arc<Mutex<Vec<Mail>>>);

impl Inbox {
    pub fn all(&self) -> Vec<Mail> {
        self.0.lock().expect("inbox").clone()
    }

    pub fn to(&self, address: &str) -> Vec<Mail> {
        self.all()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .collect()
    }
}

#[derive(Clone)]
struct Capture {
    inbox: Inbox,
    to: Vec<String>,
    buf: Vec<u8>,
}

impl Handler for Capture {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.buf.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = Mail {
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&self.buf).into_owned(),
        };
        self.inbox.0.lock().expect("inbox").push(mail);
        response::OK
    }
}

/// Serves SMTP on `listener` from a background thread for the rest of the test binary.
pub fn serve(listener: TcpListener) -> Inbox {
    let inbox = Inbox::default();
    let handler = Capture {
        inbox: inbox.clone(),
        to: Vec::new(),
        buf: Vec::new(),
    };
    std::thread::spawn(move || {
        let mut server = Server::new(handler);
        server.with_name("smtp.test").with_tcp_listener(listener);
        let _ = server.serve();
    });
    inbox
}

/// A port kept for a server that is "down": bound but not listening, so connections to it
/// are refused and no other test can take it meanwhile. `up` frees it and listens on it.
pub struct DownPort {
    socket: socket2::Socket,
    pub port: u16,
}

impl DownPort {
    pub fn new() -> Self {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        socket.set_reuse_address(true).expect("reuse");
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().expect("addr");
        socket.bind(&any.into()).expect("bind");
        let port = socket
            .local_addr()
            .expect("addr")
            .as_socket()
            .expect("inet")
            .port();
        Self { socket, port }
    }

    /// The SMTP server comes up on the kept port.
    pub fn up(self) -> Inbox {
        let port = self.port;
        drop(self.socket);
        serve(TcpListener::bind(("127.0.0.1", port)).expect("the kept port"))
    }
}
