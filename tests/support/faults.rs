//! A loopback HTTP proxy that injects faults between nodectl and an emulator: on a seeded
//! fraction of the requests it answers with throttling or a 5xx, drops the connection before
//! forwarding (a reset before the request is processed), forwards and then drops the
//! connection without the reply (a reset after the request was processed: a lost reply), or
//! delays the reply. Everything else is forwarded as it is. Loopback only; stopped when
//! dropped.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A fault the proxy injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// HTTP 400 with the service's throttling error (`Throttling`, `ThrottlingException`,
    /// `RequestLimitExceeded`).
    Throttle,
    /// HTTP 503, no AWS error body.
    Unavailable,
    /// The connection is closed before the request is forwarded.
    ResetBefore,
    /// The request is forwarded and carried out; the connection is closed before the reply.
    ResetAfter,
    /// The reply comes 200 to 1,000 ms late.
    Slow,
}

const FAULTS: [Fault; 5] = [
    Fault::Throttle,
    Fault::Unavailable,
    Fault::ResetBefore,
    Fault::ResetAfter,
    Fault::Slow,
];

/// A running proxy.
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    stop: Arc<AtomicBool>,
    injected: Arc<Mutex<Vec<(Fault, String)>>>,
    forwarded: Arc<Mutex<usize>>,
}

impl FaultProxy {
    /// Starts a proxy to `127.0.0.1:upstream` that injects a fault into `fraction` of the
    /// requests, chosen by a random generator seeded with `seed`.
    pub fn start(upstream: u16, seed: u64, fraction: f64) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let injected = Arc::new(Mutex::new(Vec::new()));
        let forwarded = Arc::new(Mutex::new(0));
        let rng = Arc::new(Mutex::new(fastrand::Rng::with_seed(seed)));
        {
            let (stop, injected, forwarded) = (stop.clone(), injected.clone(), forwarded.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let (rng, injected, forwarded) =
                                (rng.clone(), injected.clone(), forwarded.clone());
                            std::thread::spawn(move || {
                                let _ =
                                    serve(client, upstream, fraction, &rng, &injected, &forwarded);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
        }
        FaultProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            stop,
            injected,
            forwarded,
        }
    }

    /// The faults injected so far, with the request's action.
    pub fn injected(&self) -> Vec<(Fault, String)> {
        self.injected.lock().unwrap().clone()
    }

    /// How many requests were forwarded (faulty ones that reached the emulator included).
    pub fn forwarded(&self) -> usize {
        *self.forwarded.lock().unwrap()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One request: its head (request line and headers) and body.
struct Request {
    head: String,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// The AWS action, for the log: `X-Amz-Target`, or the query protocol's `Action`.
    fn action(&self) -> String {
        if let Some(target) = self.header("X-Amz-Target") {
            return target.to_string();
        }
        String::from_utf8_lossy(&self.body)
            .split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
            .unwrap_or("?")
            .to_string()
    }

    /// The bytes to forward, with `Connection: close` (one request per upstream connection).
    fn forwardable(&self) -> Vec<u8> {
        let mut head: Vec<&str> = self
            .head
            .lines()
            .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
            .filter(|line| !line.is_empty())
            .collect();
        head.push("Connection: close");
        let mut bytes = head.join("\r\n").into_bytes();
        bytes.extend_from_slice(b"\r\n\r\n");
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

fn read_request(client: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut data = Vec::new();
    let mut buffer = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = client.read(&mut buffer)?;
        if n == 0 {
            return Ok(None);
        }
        data.extend_from_slice(&buffer[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut request = Request {
        head,
        body: data[head_end + 4..].to_vec(),
    };
    let length: usize = request
        .header("Content-Length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while request.body.len() < length {
        let n = client.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        request.body.extend_from_slice(&buffer[..n]);
    }
    Ok(Some(request))
}

/// The service's throttling error, by protocol: JSON (`X-Amz-Target`), EC2's query XML, or
/// the query XML of CloudFormation and STS.
fn throttling(request: &Request) -> Vec<u8> {
    let (content_type, extra, body) = if request.header("X-Amz-Target").is_some() {
        (
            "application/x-amz-json-1.1",
            "x-amzn-ErrorType: ThrottlingException\r\n",
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string(),
        )
    } else if String::from_utf8_lossy(&request.body).contains("Version=2016-11-15") {
        (
            "text/xml",
            "",
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit \
             exceeded.</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>"
                .to_string(),
        )
    } else {
        (
            "text/xml",
            "",
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate \
             exceeded</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
                .to_string(),
        )
    };
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: {content_type}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn forward(request: &Request, upstream: u16) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(("127.0.0.1", upstream))?;
    server.write_all(&request.forwardable())?;
    let mut response = Vec::new();
    server.read_to_end(&mut response)?;
    Ok(response)
}

fn serve(
    mut client: TcpStream,
    upstream: u16,
    fraction: f64,
    rng: &Mutex<fastrand::Rng>,
    injected: &Mutex<Vec<(Fault, String)>>,
    forwarded: &Mutex<usize>,
) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    let Some(request) = read_request(&mut client)? else {
        return Ok(());
    };
    let (fault, delay) = {
        let mut rng = rng.lock().unwrap();
        let fault = (rng.f64() < fraction).then(|| FAULTS[rng.usize(..FAULTS.len())]);
        (fault, Duration::from_millis(rng.u64(200..1000)))
    };
    if let Some(fault) = fault {
        injected.lock().unwrap().push((fault, request.action()));
    }
    let reply = match fault {
        Some(Fault::Throttle) => throttling(&request),
        Some(Fault::Unavailable) => {
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec()
        }
        Some(Fault::ResetBefore) => {
            let _ = client.shutdown(Shutdown::Both);
            return Ok(());
        }
        Some(Fault::ResetAfter) => {
            *forwarded.lock().unwrap() += 1;
            let _ = forward(&request, upstream)?;
            let _ = client.shutdown(Shutdown::Both);
            return Ok(());
        }
        Some(Fault::Slow) => {
            *forwarded.lock().unwrap() += 1;
            let reply = forward(&request, upstream)?;
            std::thread::sleep(delay);
            reply
        }
        None => {
            *forwarded.lock().unwrap() += 1;
            forward(&request, upstream)?
        }
    };
    client.write_all(&reply)?;
    client.flush()?;
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}
