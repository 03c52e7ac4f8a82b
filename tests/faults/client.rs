//! A pipelining RESP2 client that never panics: the load threads send a few commands at once and
//! read the replies one by one, so a kill can land between replies of one pipeline. A reply
//! counts as received only once it has been read completely.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::Value;

pub struct PipeConn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl PipeConn {
    pub fn connect(port: u16, timeout: Duration) -> io::Result<PipeConn> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        s.set_nodelay(true)?;
        Ok(PipeConn {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
        })
    }

    /// Writes all commands in one go.
    pub fn send<C: AsRef<[u8]>>(&mut self, cmds: &[Vec<C>]) -> io::Result<()> {
        let mut buf = Vec::new();
        for c in cmds {
            buf.extend(format!("*{}\r\n", c.len()).as_bytes());
            for a in c {
                let a = a.as_ref();
                buf.extend(format!("${}\r\n", a.len()).as_bytes());
                buf.extend(a);
                buf.extend(b"\r\n");
            }
        }
        self.writer.write_all(&buf)
    }

    /// Reads one RESP2 reply.
    pub fn read(&mut self) -> io::Result<Value> {
        let line = self.line()?;
        if line.is_empty() {
            return Err(bad("empty line"));
        }
        let (t, rest) = line.split_at(1);
        let num = |s: &str| s.parse::<i64>().map_err(|_| bad("bad number"));
        Ok(match t {
            "+" => Value::Simple(rest.to_string()),
            "-" => Value::Error(rest.to_string()),
            ":" => Value::Int(num(rest)?),
            "$" => {
                let n = num(rest)?;
                if n < 0 {
                    Value::Null
                } else {
                    let mut b = vec![0; n as usize + 2];
                    self.reader.read_exact(&mut b)?;
                    if &b[n as usize..] != b"\r\n" {
                        return Err(bad("bulk without CRLF"));
                    }
                    b.truncate(n as usize);
                    Value::Bulk(b)
                }
            }
            "*" => {
                let n = num(rest)?;
                if n < 0 {
                    Value::Null
                } else {
                    let mut items = Vec::with_capacity(n as usize);
                    for _ in 0..n {
                        items.push(self.read()?);
                    }
                    Value::Array(items)
                }
            }
            _ => return Err(bad("unknown reply type")),
        })
    }

    fn line(&mut self) -> io::Result<String> {
        let mut line = Vec::new();
        let n = self.reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        if !line.ends_with(b"\r\n") {
            return Err(bad("line without CRLF"));
        }
        line.truncate(line.len() - 2);
        String::from_utf8(line).map_err(|_| bad("non UTF-8 line"))
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}
