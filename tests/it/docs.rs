//! The command reference's examples run: every example block of `docs/commands/*.md` (a fenced
//! block whose first line is a `127.0.0.1:6379> ` prompt) against a real server, one fresh server
//! per page with the settings of `redis.conf.example` (AOF on, its `idgen.*` lines), each line in
//! order over RESP2. Each reply must be of the kind the page prints (integer, bulk string, status,
//! nil, array, error), recursively in arrays, with the page's array lengths and error codes.
//! Integer and string values are not compared: IDs, timestamps, periods and TTLs change from run
//! to run (also the small ones: `period_index` counts days, `resume_wait_ms` milliseconds).
//! Every client command must also have its page with at least one example block.

use std::fs;
use std::path::Path;

use idgen_testkit::{module_commands, root, Server, Value};

/// One example line: where it is, what it sends, what the page prints as its reply.
struct Example {
    line: usize,
    command: String,
    args: Vec<String>,
    reply: Vec<String>,
}

/// A reply as redis-cli prints it (RESP2), reduced to what is compared.
#[derive(Debug, PartialEq)]
enum Shape {
    /// The value, kept to report (not to compare) the small ones that differ.
    Int(i64),
    Bulk,
    Status,
    Nil,
    /// The error code (the first word).
    Error(String),
    Array(Vec<Shape>),
}

const PROMPT: &str = "127.0.0.1:6379> ";

/// The example lines of a page, in order. Blocks of other kinds (`$ redis-cli ...` sessions,
/// syntax lines, configuration) are skipped.
fn examples(text: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut block: Option<Vec<(usize, &str)>> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            match block.take() {
                None => block = Some(Vec::new()),
                Some(lines) => {
                    if lines.first().is_some_and(|(_, l)| l.starts_with(PROMPT)) {
                        for (n, l) in lines {
                            match l.strip_prefix(PROMPT) {
                                Some(cmd) => out.push(Example {
                                    line: n,
                                    command: cmd.to_string(),
                                    args: split_args(cmd)
                                        .unwrap_or_else(|e| panic!("line {n}: {e}: {cmd}")),
                                    reply: Vec::new(),
                                }),
                                None => out.last_mut().unwrap().reply.push(l.to_string()),
                            }
                        }
                    }
                }
            }
        } else if let Some(lines) = block.as_mut() {
            lines.push((i + 1, line));
        }
    }
    assert!(block.is_none(), "unclosed fenced block");
    out
}

/// Splits a command line as redis-cli does (`sdssplitargs`): whitespace between arguments,
/// double quotes with backslash escapes (`\n \r \t \b \a \\ \" \xHH`), single quotes with `\'`.
fn split_args(line: &str) -> Result<Vec<String>, String> {
    let b = line.as_bytes();
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == b.len() {
            return Ok(args);
        }
        let mut cur = Vec::new();
        let (mut dq, mut sq) = (false, false);
        loop {
            if dq {
                match b.get(i) {
                    None => return Err("unbalanced double quote".into()),
                    Some(b'\\') if b.get(i + 1) == Some(&b'x') && i + 3 < b.len() => {
                        let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap_or("");
                        match u8::from_str_radix(hex, 16) {
                            Ok(v) => {
                                cur.push(v);
                                i += 3;
                            }
                            Err(_) => {
                                cur.push(b'x');
                                i += 1;
                            }
                        }
                    }
                    Some(b'\\') if i + 1 < b.len() => {
                        i += 1;
                        cur.push(match b[i] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            c => c,
                        });
                    }
                    Some(b'"') => {
                        if b.get(i + 1).is_some_and(|c| !c.is_ascii_whitespace()) {
                            return Err("closing quote must be followed by a space".into());
                        }
                        dq = false;
                        i += 1;
                        break;
                    }
                    Some(&c) => cur.push(c),
                }
            } else if sq {
                match b.get(i) {
                    None => return Err("unbalanced single quote".into()),
                    Some(b'\\') if b.get(i + 1) == Some(&b'\'') => {
                        i += 1;
                        cur.push(b'\'');
                    }
                    Some(b'\'') => {
                        if b.get(i + 1).is_some_and(|c| !c.is_ascii_whitespace()) {
                            return Err("closing quote must be followed by a space".into());
                        }
                        sq = false;
                        i += 1;
                        break;
                    }
                    Some(&c) => cur.push(c),
                }
            } else {
                match b.get(i) {
                    None => break,
                    Some(c) if c.is_ascii_whitespace() => break,
                    Some(b'"') => dq = true,
                    Some(b'\'') => sq = true,
                    Some(&c) => cur.push(c),
                }
            }
            i += 1;
        }
        debug_assert!(!dq && !sq);
        args.push(String::from_utf8(cur).map_err(|e| e.to_string())?);
    }
}

/// Parses a reply as redis-cli prints it. Array elements are `N) ` lines, right-aligned to the
/// widest index; an element's further lines are indented by that prefix's width.
fn parse_reply(lines: &[String]) -> Result<Shape, String> {
    let first = lines.first().ok_or("no reply printed")?;
    if lines.len() == 1 {
        let l = first.as_str();
        if let Some(n) = l.strip_prefix("(integer) ") {
            let n = n.parse().map_err(|e| format!("{l:?}: {e}"))?;
            return Ok(Shape::Int(n));
        }
        if l == "(nil)" {
            return Ok(Shape::Nil);
        }
        if l == "(empty array)" || l == "(empty list or set)" {
            return Ok(Shape::Array(Vec::new()));
        }
        if let Some(e) = l.strip_prefix("(error) ") {
            return Ok(Shape::Error(e.split(' ').next().unwrap_or("").to_string()));
        }
        if l.starts_with('"') {
            if l.len() < 2 || !l.ends_with('"') {
                return Err(format!("unterminated string {l:?}"));
            }
            return Ok(Shape::Bulk);
        }
        if !l.is_empty() && !l.starts_with('(') && is_index(l).is_none() {
            return Ok(Shape::Status);
        }
    }
    // An array: the first line is `1) ...` after the padding of the widest index.
    let width = is_index(first).ok_or_else(|| format!("unknown reply {lines:?}"))?;
    let mut items: Vec<Vec<String>> = Vec::new();
    for l in lines {
        let head = l.get(..width).unwrap_or(l);
        let rest = l.get(width..).unwrap_or("");
        if is_index(l) == Some(width) {
            let n: usize = head.trim().trim_end_matches(')').parse().unwrap();
            if n != items.len() + 1 {
                return Err(format!("element {n} after {}: {l:?}", items.len()));
            }
            items.push(vec![rest.to_string()]);
        } else if head.trim().is_empty() && !items.is_empty() {
            items.last_mut().unwrap().push(rest.to_string());
        } else {
            return Err(format!("line {l:?} is no element of the array"));
        }
    }
    items
        .iter()
        .map(|item| parse_reply(item))
        .collect::<Result<_, _>>()
        .map(Shape::Array)
}

/// `Some(w)` when the line starts with an array index `N) ` (after spaces), `w` being the width
/// of that prefix.
fn is_index(l: &str) -> Option<usize> {
    let t = l.trim_start_matches(' ');
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && t[digits..].starts_with(") ") {
        Some(l.len() - t.len() + digits + 2)
    } else {
        None
    }
}

/// The shape of a reply received over RESP2.
fn shape_of(v: &Value) -> Shape {
    match v {
        Value::Int(i) => Shape::Int(*i),
        Value::Bulk(_) => Shape::Bulk,
        Value::Simple(_) => Shape::Status,
        Value::Null => Shape::Nil,
        Value::Error(e) => Shape::Error(e.split(' ').next().unwrap_or("").to_string()),
        Value::Array(a) => Shape::Array(a.iter().map(shape_of).collect()),
        other => panic!("a RESP3 reply over RESP2: {other:?}"),
    }
}

/// Where `got` differs from `want` ("" at the top, `[3]` inside an array), or None.
fn differs(want: &Shape, got: &Shape, at: &str) -> Option<String> {
    let kind = |s: &Shape| match s {
        Shape::Int(_) => "integer".to_string(),
        Shape::Bulk => "bulk string".to_string(),
        Shape::Status => "status".to_string(),
        Shape::Nil => "nil".to_string(),
        Shape::Error(code) => format!("error {code}"),
        Shape::Array(a) => format!("array of {}", a.len()),
    };
    match (want, got) {
        (Shape::Array(w), Shape::Array(g)) if w.len() == g.len() => w
            .iter()
            .zip(g)
            .enumerate()
            .find_map(|(i, (w, g))| differs(w, g, &format!("{at}[{}]", i + 1))),
        (Shape::Int(_), Shape::Int(_)) => None,
        _ if want == got => None,
        _ if at.is_empty() => Some(format!("expected {}, got {}", kind(want), kind(got))),
        _ => Some(format!(
            "element {at}: expected {}, got {}",
            kind(want),
            kind(got)
        )),
    }
}

/// The integers below 1,000,000 the page prints that differ from the reply's (same shape
/// assumed): reported, not failed, since some of them are times (`resume_wait_ms`) or dates
/// (`period_index`).
fn small_int_diffs(want: &Shape, got: &Shape, at: &str, out: &mut Vec<String>) {
    match (want, got) {
        (Shape::Int(w), Shape::Int(g)) if w.abs() < 1_000_000 && w != g => {
            out.push(format!("{at}: {w} printed, {g} received"))
        }
        (Shape::Array(w), Shape::Array(g)) => {
            for (i, (w, g)) in w.iter().zip(g).enumerate() {
                small_int_diffs(w, g, &format!("{at}[{}]", i + 1), out);
            }
        }
        _ => {}
    }
}

/// A fresh server set up as `redis.conf.example` sets one up, as far as replies depend on it:
/// AOF on (else the module refuses sequences and pools) and its `idgen.*` settings.
fn example_server(page: &str) -> Server {
    let conf = fs::read_to_string(root().join("redis.conf.example")).expect("redis.conf.example");
    let mut b = Server::builder(&format!("docs-{page}")).refuse_unsafe_persistence();
    let mut aof = false;
    for line in conf.lines().map(str::trim) {
        let Some((name, value)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        if let Some(setting) = name.strip_prefix("idgen.") {
            b = b.module_arg(&format!("idgen.{setting}"), value);
        } else if name == "appendonly" || name == "appendfsync" {
            aof |= name == "appendonly" && value == "yes";
            b = b.config(&format!("{name} {value}"));
        }
    }
    assert!(aof, "redis.conf.example no longer turns AOF on");
    b.start()
}

#[test]
fn command_pages_examples_run() {
    let dir = root().join("docs/commands");
    let mut pages: Vec<_> = fs::read_dir(&dir)
        .expect("docs/commands")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    assert!(!pages.is_empty(), "no pages in {}", dir.display());

    let mut mismatches = Vec::new();
    let mut with_examples = Vec::new();
    let mut ran = 0;
    let mut small_ints = Vec::new();
    for page in &pages {
        let name = page.file_stem().unwrap().to_string_lossy().to_string();
        let rel = page
            .strip_prefix(root())
            .unwrap_or(page)
            .display()
            .to_string();
        let text = fs::read_to_string(page).unwrap();
        let examples = examples(&text);
        if examples.is_empty() {
            continue;
        }
        with_examples.push(name.clone());
        let s = example_server(&name);
        let mut c = s.conn();
        for ex in &examples {
            ran += 1;
            let want = match parse_reply(&ex.reply) {
                Ok(w) => w,
                Err(e) => {
                    mismatches.push(format!("{rel}:{}: {} -> {e}", ex.line, ex.command));
                    continue;
                }
            };
            let got = c.cmd(&ex.args);
            let shape = shape_of(&got);
            let mut small = Vec::new();
            small_int_diffs(&want, &shape, "", &mut small);
            for d in small {
                small_ints.push(format!("{rel}:{}: {} -> {d}", ex.line, ex.command));
            }
            if let Some(d) = differs(&want, &shape, "") {
                let mut got = got.to_string();
                if got.chars().count() > 120 {
                    got = got.chars().take(117).collect::<String>() + "...";
                }
                mismatches.push(format!("{rel}:{}: {} -> {d} ({got})", ex.line, ex.command));
            }
        }
    }
    // Not failed: see `small_int_diffs`.
    for d in &small_ints {
        eprintln!("note: small integer differs: {d}");
    }
    eprintln!(
        "docs examples: {} pages, {} with examples, {ran} example commands run, {} mismatches, \
         {} small integers differ",
        pages.len(),
        with_examples.len(),
        mismatches.len(),
        small_ints.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} example replies differ from the pages:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );

    // Every client command has its page, with an example.
    let s = Server::start("docs-commands");
    let mut c = s.conn();
    let missing: Vec<String> = module_commands(&mut c)
        .into_iter()
        .filter(|m| !m.internal && !with_examples.contains(&m.name))
        .map(|m| {
            let page = format!("docs/commands/{}.md", m.name);
            if Path::new(&root().join(&page)).exists() {
                format!("{page}: no example block")
            } else {
                format!("{page}: missing")
            }
        })
        .collect();
    assert!(
        missing.is_empty(),
        "client commands without an example page:\n{}",
        missing.join("\n")
    );
}

#[test]
fn reply_parser_reads_redis_cli_output() {
    let l = |s: &str| s.lines().map(String::from).collect::<Vec<_>>();
    assert_eq!(parse_reply(&l("(integer) 5")), Ok(Shape::Int(5)));
    assert_eq!(parse_reply(&l("OK")), Ok(Shape::Status));
    assert_eq!(parse_reply(&l("\"ord_1\"")), Ok(Shape::Bulk));
    assert_eq!(parse_reply(&l("(nil)")), Ok(Shape::Nil));
    assert_eq!(
        parse_reply(&l("(error) BUSYKEY generator already exists")),
        Ok(Shape::Error("BUSYKEY".into()))
    );
    assert_eq!(
        parse_reply(&l("(empty array)")),
        Ok(Shape::Array(Vec::new()))
    );
    let nested = "1) 1) (integer) 0\n   2) \"svc-a\"\n2) 1) (integer) 1\n   2) (nil)";
    let pair = |i, s| Shape::Array(vec![Shape::Int(i), s]);
    assert_eq!(
        parse_reply(&l(nested)),
        Ok(Shape::Array(vec![
            pair(0, Shape::Bulk),
            pair(1, Shape::Nil)
        ]))
    );
    let wide: String = (1..=10)
        .map(|i| format!("{i:>2}) (integer) {i}\n"))
        .collect();
    assert_eq!(
        parse_reply(&l(&wide)),
        Ok(Shape::Array((1..=10).map(Shape::Int).collect()))
    );
    let inner = "1)  1) \"node\"\n    2) (nil)\n    3) \"a\"\n    4) (nil)\n    5) \"b\"\n    \
                 6) (nil)\n    7) \"c\"\n    8) (nil)\n    9) \"d\"\n   10) (integer) 1";
    match parse_reply(&l(inner)) {
        Ok(Shape::Array(a)) => assert!(matches!(&a[..], [Shape::Array(x)] if x.len() == 10)),
        other => panic!("{other:?}"),
    }
    assert!(parse_reply(&l("1) (integer) 1\n3) (integer) 2")).is_err());
    assert_eq!(
        split_args(r#"SET k "a b\x41\"" 'it\'s' """#),
        Ok(vec![
            "SET".into(),
            "k".into(),
            "a bA\"".into(),
            "it's".into(),
            "".into()
        ])
    );
}
