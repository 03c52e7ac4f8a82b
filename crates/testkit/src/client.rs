//! The tests' client: a thin wrapper over the `redis` crate (0.27). The crate builds every
//! command (`redis::Cmd`, `redis::Pipeline`) and parses every reply; this module only turns its
//! replies into the harness's [`Value`], in which an error reply is a value that keeps its full
//! text, code included (`ERR ...`, `WRONGTYPE ...`, `BUSYKEY ...`), as the assertions need.
//!
//! How the crate is used, and why:
//! - One command: `ConnectionLike::req_command` of a `Cmd`, not `Cmd::query`: `query` turns an
//!   error reply (also one inside an array, such as an EXEC result) into an `Err` of the whole
//!   call, and its `RedisError` replaces a missing detail with a made-up text. `req_command`
//!   hands back `redis::Value::ServerError`, whose `code()` and `details()` give back the
//!   server's line exactly (the crate splits it at the first space).
//! - Pipelines whose replies are read one by one (the fault load counts a value as received only
//!   once its own reply arrived): the crate packs them (`Pipeline::get_packed_pipeline`), sends
//!   them with `Connection::send_packed_command` and parses each reply with `recv_response`.
//! - RESP3: `?protocol=resp3` in the connection URL; the crate sends `HELLO 3` when it connects.

use std::fmt;
use std::io;
use std::time::Duration;

use redis::ConnectionLike;

/// How long one reply may take before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// A reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Bulk(Vec<u8>),
    Simple(String),
    /// An error reply: "CODE detail", exactly as the server sent it.
    Error(String),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Set(Vec<Value>),
    Null,
    Double(f64),
    Bool(bool),
    /// Format (e.g. `txt`) and text.
    Verbatim(String, Vec<u8>),
    BigNumber(String),
}

impl From<redis::Value> for Value {
    fn from(v: redis::Value) -> Value {
        use redis::Value as R;
        match v {
            R::Nil => Value::Null,
            R::Int(i) => Value::Int(i),
            R::BulkString(b) => Value::Bulk(b),
            R::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            R::SimpleString(s) => Value::Simple(s),
            // The crate parses the simple string "OK" into a variant of its own.
            R::Okay => Value::Simple("OK".into()),
            R::Map(m) => Value::Map(
                m.into_iter()
                    .map(|(k, v)| (Value::from(k), Value::from(v)))
                    .collect(),
            ),
            // Attributes are metadata about the reply that follows: keep the reply.
            R::Attribute { data, .. } => Value::from(*data),
            R::Set(s) => Value::Set(s.into_iter().map(Value::from).collect()),
            R::Double(d) => Value::Double(d),
            R::Boolean(b) => Value::Bool(b),
            R::VerbatimString { format, text } => {
                let format = match format {
                    redis::VerbatimFormat::Text => "txt".to_string(),
                    redis::VerbatimFormat::Markdown => "mkd".to_string(),
                    redis::VerbatimFormat::Unknown(f) => f,
                };
                Value::Verbatim(format, text.into_bytes())
            }
            R::BigNumber(n) => Value::BigNumber(n.to_string()),
            // Push frames are skipped where replies are read; none nests inside a reply.
            R::Push { kind, data } => panic!("push frame {kind:?} {data:?} inside a reply"),
            // The crate split the line at its first space into code and detail.
            R::ServerError(e) => Value::Error(match e.details() {
                Some(detail) => format!("{} {detail}", e.code()),
                None => e.code().to_string(),
            }),
        }
    }
}

impl Value {
    /// The integer, or panic.
    pub fn int(&self) -> i64 {
        match self {
            Value::Int(i) => *i,
            other => panic!("expected an integer reply, got {other:?}"),
        }
    }

    /// The error text, or panic.
    pub fn err(&self) -> &str {
        match self {
            Value::Error(e) => e,
            other => panic!("expected an error reply, got {other:?}"),
        }
    }

    pub fn is_err(&self) -> bool {
        matches!(self, Value::Error(_))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Text of a bulk, simple or verbatim string, or panic.
    pub fn as_str(&self) -> &str {
        match self {
            Value::Bulk(b) | Value::Verbatim(_, b) => {
                std::str::from_utf8(b).expect("reply is not UTF-8")
            }
            Value::Simple(s) => s,
            other => panic!("expected a string reply, got {other:?}"),
        }
    }

    /// Panics unless the reply is `+OK`.
    pub fn ok(&self) {
        assert_eq!(self, &Value::Simple("OK".into()), "expected +OK");
    }

    /// Elements of an array or set, or panic.
    pub fn array(&self) -> &[Value] {
        match self {
            Value::Array(a) | Value::Set(a) => a,
            other => panic!("expected an array reply, got {other:?}"),
        }
    }

    /// Array of integers, or panic.
    pub fn ints(&self) -> Vec<i64> {
        self.array().iter().map(Value::int).collect()
    }

    /// Field/value pairs of a RESP3 map or of a RESP2 flat field/value array.
    pub fn pairs(&self) -> Vec<(String, Value)> {
        match self {
            Value::Map(m) => m
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                .collect(),
            Value::Array(a) => {
                assert!(
                    a.len() % 2 == 0,
                    "flat field/value array of odd length: {a:?}"
                );
                a.chunks(2)
                    .map(|kv| (kv[0].as_str().to_string(), kv[1].clone()))
                    .collect()
            }
            other => panic!("expected a map or flat array, got {other:?}"),
        }
    }

    /// Value of `field` in a map / flat array.
    pub fn map_get(&self, field: &str) -> Option<Value> {
        self.pairs()
            .into_iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v)
    }

    /// Value of `field`, or panic naming the missing field.
    pub fn field(&self, field: &str) -> Value {
        self.map_get(field)
            .unwrap_or_else(|| panic!("field {field:?} missing in {self:?}"))
    }

    /// Integer value of `field`, or panic.
    pub fn field_int(&self, field: &str) -> i64 {
        match self.field(field) {
            Value::Int(i) => i,
            other => panic!("field {field:?} is not an integer: {other:?}"),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bulk(b) => write!(f, "{:?}", String::from_utf8_lossy(b)),
            other => write!(f, "{other:?}"),
        }
    }
}

/// A `redis` crate error that is not a server reply (I/O, timeout, parse error) as an I/O error.
fn io_error(e: redis::RedisError) -> io::Error {
    let kind = if e.is_timeout() {
        io::ErrorKind::TimedOut
    } else if e.is_connection_dropped() {
        io::ErrorKind::ConnectionAborted
    } else if e.is_io_error() {
        io::ErrorKind::Other
    } else {
        io::ErrorKind::InvalidData
    };
    io::Error::new(kind, e.to_string())
}

/// One command, built by the crate from its arguments (each one bulk string, binary-safe).
fn command<S: AsRef<[u8]>>(args: &[S]) -> redis::Cmd {
    let mut cmd = redis::Cmd::new();
    for a in args {
        cmd.arg(a.as_ref());
    }
    cmd
}

/// Commands one after another in RESP, packed by the crate (a `redis::Pipeline`): what a
/// client sends, and also the format of an AOF file.
pub fn packed<C: AsRef<[S]>, S: AsRef<[u8]>>(cmds: &[C]) -> Vec<u8> {
    let mut pipe = redis::pipe();
    for c in cmds {
        pipe.add_command(command(c.as_ref()));
    }
    pipe.get_packed_pipeline()
}

/// A connection to `127.0.0.1:<port>`, RESP2 unless opened with [`Conn::connect_resp3`].
pub struct Conn {
    con: redis::Connection,
}

impl Conn {
    pub fn connect(port: u16) -> Conn {
        Conn::try_connect(port).unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"))
    }

    /// A RESP3 connection (`?protocol=resp3`); panics unless the server confirms RESP3 for it.
    pub fn connect_resp3(port: u16) -> Conn {
        let mut c = Conn::open(port, "resp3", READ_TIMEOUT)
            .unwrap_or_else(|e| panic!("connect (RESP3) to 127.0.0.1:{port}: {e}"));
        let info = c.cmd(&["CLIENT", "INFO"]);
        assert!(
            info.as_str().split_whitespace().any(|f| f == "resp=3"),
            "the connection does not speak RESP3: CLIENT INFO {info}"
        );
        c
    }

    pub fn try_connect(port: u16) -> io::Result<Conn> {
        Conn::try_connect_with_timeout(port, crate::wrapper::scaled(READ_TIMEOUT))
    }

    /// Connects with its own connect, read and write timeout (the fault-injection load uses
    /// short ones). A RESP2 connect sends nothing (the crate's CLIENT SETINFO is disabled).
    pub fn try_connect_with_timeout(port: u16, timeout: Duration) -> io::Result<Conn> {
        Conn::open(port, "resp2", timeout)
    }

    fn open(port: u16, protocol: &str, timeout: Duration) -> io::Result<Conn> {
        let url = format!("redis://127.0.0.1:{port}/?protocol={protocol}");
        let client = redis::Client::open(url).map_err(io_error)?;
        let con = client
            .get_connection_with_timeout(timeout)
            .map_err(io_error)?;
        con.set_read_timeout(Some(timeout)).map_err(io_error)?;
        con.set_write_timeout(Some(timeout)).map_err(io_error)?;
        Ok(Conn { con })
    }

    /// Sends one command and reads one reply; panics on I/O errors.
    pub fn cmd<S: AsRef<[u8]>>(&mut self, args: &[S]) -> Value {
        self.try_cmd(args).unwrap_or_else(|e| {
            panic!("I/O error on command {:?}: {e}", show_args(args));
        })
    }

    /// Sends a command given as one line split on whitespace: `run("SEQ.CREATE k CYCLE")`.
    pub fn run(&mut self, line: &str) -> Value {
        let args: Vec<&str> = line.split_whitespace().collect();
        self.cmd(&args)
    }

    /// Sends one command and reads its reply (an error reply is `Ok(Value::Error)`).
    pub fn try_cmd<S: AsRef<[u8]>>(&mut self, args: &[S]) -> io::Result<Value> {
        self.con
            .req_command(&command(args))
            .map(Value::from)
            .map_err(io_error)
    }

    /// Sends all commands in one write without reading the replies (read them with
    /// [`Conn::read_value`]); never panics.
    pub fn send<C: AsRef<[S]>, S: AsRef<[u8]>>(&mut self, cmds: &[C]) -> io::Result<()> {
        self.con
            .send_packed_command(&packed(cmds))
            .map_err(io_error)
    }

    /// Sends all commands, then reads one reply per command.
    pub fn pipeline<C: AsRef<[S]>, S: AsRef<[u8]>>(&mut self, cmds: &[C]) -> Vec<Value> {
        self.send(cmds).expect("write pipeline");
        (0..cmds.len())
            .map(|_| self.read_value().expect("read pipeline reply"))
            .collect()
    }

    /// Reads one reply (RESP3 push frames are skipped).
    pub fn read_value(&mut self) -> io::Result<Value> {
        loop {
            match self.con.recv_response().map_err(io_error)? {
                redis::Value::Push { .. } => continue,
                v => return Ok(Value::from(v)),
            }
        }
    }
}

fn show_args<S: AsRef<[u8]>>(args: &[S]) -> Vec<String> {
    args.iter()
        .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
        .collect()
}
