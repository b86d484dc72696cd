//! `sluice`: the shell. Reads ksqlDB statements (each ended by `;`, possibly
//! over several lines) from the terminal or a script file, runs them on an
//! embedded engine and prints the results as aligned tables.

mod render;
mod table;

/// jemalloc: the engine allocates and frees rows in batches, which it
/// serves much better than glibc's malloc (see README, Benchmarks).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use anyhow::{bail, Context, Result};
use sluice_engine::{Engine, EngineConfig, StatementResult};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const USAGE: &str = "\
usage: sluice [--data-dir DIR | --bootstrap-servers HOST:PORT] [--config-file FILE]
              [--service-id ID] [-f FILE | -e SQL | --queries-file FILE]
       sluice server [--listeners URL] [--data-dir DIR] [--config-file FILE]
                      (ksqlDB's REST API; see `sluice server --help`)

  --data-dir DIR          where topics, queries and state live on the embedded log
                          (default: $SLUICE_DATA_DIR or ./sluice-data)
  --bootstrap-servers H:P run over this Kafka cluster instead of the embedded log
  --config-file FILE      properties file: bootstrap.servers, ksql.* settings, and
                          Kafka client settings passed through (security.protocol, sasl.*, ssl.*, ...)
  --service-id ID         ksql.service.id: processes with the same id share streams, tables
                          and queries (and, on Kafka, the queries' partitions)
  -f, --file FILE         run the statements in FILE, then exit
  -e, --execute SQL       run SQL, then exit
  --queries-file FILE     headless: run the statements in FILE, then keep the persistent
                          queries running without a terminal until SIGINT/SIGTERM
  -h, --help              show this help
";

struct Args {
    data_dir: PathBuf,
    file: Option<PathBuf>,
    execute: Option<String>,
    queries_file: Option<PathBuf>,
    /// Settings in the order given: the config file's, then the flags'.
    settings: Vec<(String, String)>,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        data_dir: std::env::var_os("SLUICE_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("sluice-data")),
        file: None,
        execute: None,
        queries_file: None,
        settings: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--data-dir" => {
                args.data_dir = it.next().context("--data-dir needs a directory")?.into()
            }
            "-f" | "--file" => args.file = Some(it.next().context("-f needs a file")?.into()),
            "-e" | "--execute" => args.execute = Some(it.next().context("-e needs SQL")?),
            "--queries-file" => {
                args.queries_file = Some(it.next().context("--queries-file needs a file")?.into())
            }
            "--bootstrap-servers" => {
                let servers = it.next().context("--bootstrap-servers needs HOST:PORT")?;
                args.settings.push(("bootstrap.servers".into(), servers));
            }
            "--service-id" => {
                let id = it.next().context("--service-id needs an id")?;
                args.settings.push(("ksql.service.id".into(), id));
            }
            "--config-file" => {
                let path = PathBuf::from(it.next().context("--config-file needs a file")?);
                let props = sluice_engine::read_properties_file(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                // A file's settings come before any flag's.
                let flags = std::mem::take(&mut args.settings);
                args.settings.extend(props);
                args.settings.extend(flags);
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}'\n{USAGE}"),
        }
    }
    Ok(args)
}

fn main() {
    init_logging();
    // The shell runs statements and push queries on a thread with the
    // engine's query stack: deeply nested expressions need it.
    let shell = std::thread::Builder::new()
        .name("sluice-shell".into())
        .stack_size(sluice_engine::runtime::THREAD_STACK)
        .spawn(|| {
            if std::env::args().nth(1).as_deref() == Some("server") {
                server()
            } else {
                run()
            }
        });
    let result = match shell {
        Ok(thread) => thread
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the shell panicked"))),
        Err(e) => Err(anyhow::anyhow!("starting the shell: {e}")),
    };
    if let Err(e) = result {
        eprintln!("sluice: {e:#}");
        std::process::exit(1);
    }
}

const SERVER_USAGE: &str = "\
usage: sluice server [--listeners URL] [--data-dir DIR] [--config-file FILE]

  --listeners URL     where the REST API listens (default: http://0.0.0.0:8088, or the
                      config file's `listeners`)
  --data-dir DIR      the embedded log's directory (default: $SLUICE_DATA_DIR or ./sluice-data)
  --config-file FILE  properties file, as for the shell; also authentication.* (basic
                      authentication) and ssl.* (for an https:// listener)
";

/// `sluice server`: ksqlDB's REST API over an engine, until SIGINT or
/// SIGTERM.
fn server() -> Result<()> {
    let mut data_dir = std::env::var_os("SLUICE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("sluice-data"));
    let mut listener = None;
    let mut settings = Vec::new();
    let mut it = std::env::args().skip(2);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--listeners" => listener = Some(it.next().context("--listeners needs a URL")?),
            "--data-dir" => data_dir = it.next().context("--data-dir needs a directory")?.into(),
            "--config-file" => {
                let path = PathBuf::from(it.next().context("--config-file needs a file")?);
                settings.extend(
                    sluice_engine::read_properties_file(&path)
                        .with_context(|| format!("reading {}", path.display()))?,
                );
            }
            "-h" | "--help" => {
                print!("{SERVER_USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}'\n{SERVER_USAGE}"),
        }
    }
    let from_file = settings.iter().find(|(k, _)| k == "listeners");
    let listener = listener
        .or_else(|| from_file.map(|(_, v)| v.clone()))
        .unwrap_or_else(|| sluice_server::DEFAULT_LISTENER.to_string());
    let security = sluice_server::Security::from_settings(&settings)?;
    let mut engine = EngineConfig {
        data_dir: Some(data_dir),
        background: true,
        ..Default::default()
    };
    engine.apply_settings(settings);
    sluice_server::run(sluice_server::ServerConfig {
        listener,
        engine,
        security,
    })?;
    Ok(())
}

/// The engine's messages (a query failing and retrying, a statement another
/// process of the service applied, ...) go to stderr, one line each.
fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .try_init();
}

fn run() -> Result<()> {
    let args = parse_args()?;
    let mut config = EngineConfig {
        data_dir: Some(args.data_dir.clone()),
        background: true,
        ..Default::default()
    };
    config.apply_settings(args.settings.clone());
    // One-shot scripts on a shared Kafka service only record their
    // queries: the service's long-running processes share and run them
    // (joining their consumer groups just to leave again would stall them).
    config.record_only = config.kafka.is_some() && (args.execute.is_some() || args.file.is_some());
    let engine = match &config.kafka {
        Some(kafka) => {
            let servers = kafka.bootstrap_servers.clone();
            Engine::open(config).with_context(|| format!("starting on Kafka at {servers}"))?
        }
        None => Engine::open(config)
            .with_context(|| format!("opening data directory {}", args.data_dir.display()))?,
    };
    if let Some(file) = &args.queries_file {
        return headless(&engine, file);
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    let at_prompt = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        let at_prompt = at_prompt.clone();
        ctrlc::set_handler(move || {
            flag.store(true, Ordering::SeqCst);
            // At the prompt, Ctrl-C abandons what was typed: show a fresh
            // prompt (the flag is set first, so the next line read sees it).
            if at_prompt.load(Ordering::SeqCst) {
                let mut out = std::io::stdout().lock();
                let _ = write!(out, "\n{PROMPT}");
                let _ = out.flush();
            }
        })
        .context("installing the Ctrl-C handler")?;
    }
    let shell = Shell {
        engine,
        interrupted,
        at_prompt,
    };
    if let Some(sql) = args.execute {
        return shell.run_script(&sql);
    }
    if let Some(file) = args.file {
        let sql = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        return shell.run_script(&sql);
    }
    shell.interactive()
}

/// Headless mode, as ksqlDB's `queries.file`: runs the file's statements,
/// then keeps the persistent queries running until SIGINT or SIGTERM.
fn headless(engine: &Engine, file: &std::path::Path) -> Result<()> {
    let sql =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    for result in engine.execute(&sql).map_err(|e| anyhow::anyhow!("{e}"))? {
        let message = match &result {
            StatementResult::Status(status) => &status.message,
            StatementResult::Message(m) => m,
            _ => continue,
        };
        if !message.is_empty() {
            eprintln!("sluice: {message}");
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("installing the signal handler")?;
    eprintln!("sluice: running headless; stop with SIGINT or SIGTERM");
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

const PROMPT: &str = "sluice> ";
const CONTINUATION_PROMPT: &str = "     > ";

struct Shell {
    engine: Engine,
    /// Set by Ctrl-C; cleared when a line is read or a push query stops.
    interrupted: Arc<AtomicBool>,
    /// True while the terminal shell waits for a line after its prompt.
    at_prompt: Arc<AtomicBool>,
}

impl Shell {
    /// Runs a whole script; the first failing statement stops it.
    fn run_script(&self, sql: &str) -> Result<()> {
        match self.engine.execute(sql) {
            Ok(results) => {
                for r in results {
                    self.print_result(r)?;
                }
                Ok(())
            }
            Err(e) => bail!("{e}"),
        }
    }

    fn interactive(&self) -> Result<()> {
        let stdin = std::io::stdin();
        let tty = stdin.is_terminal();
        if tty {
            println!("Sluice {} — ksqlDB-compatible stream processing. Statements end with ';'. Type 'exit' to leave.", env!("CARGO_PKG_VERSION"));
        }
        let mut buffer = String::new();
        let mut lines = stdin.lock().lines();
        loop {
            if tty {
                print!(
                    "{}",
                    if buffer.is_empty() {
                        PROMPT
                    } else {
                        CONTINUATION_PROMPT
                    }
                );
                std::io::stdout().flush()?;
            }
            self.at_prompt.store(tty, Ordering::SeqCst);
            let line = lines.next();
            self.at_prompt.store(false, Ordering::SeqCst);
            let Some(line) = line else { break };
            let line = line?;
            // Ctrl-C at the prompt abandons the statement being typed (the
            // terminal has already dropped the partial line); the flag must
            // not stay set, or the next push query would stop at once.
            if self.interrupted.swap(false, Ordering::SeqCst) {
                buffer.clear();
            }
            if buffer.is_empty()
                && matches!(
                    line.trim().to_ascii_lowercase().as_str(),
                    "exit" | "quit" | "exit;" | "quit;"
                )
            {
                break;
            }
            buffer.push_str(&line);
            buffer.push('\n');
            if !statement_complete(&buffer) {
                continue;
            }
            let sql = std::mem::take(&mut buffer);
            if sql.trim().is_empty() {
                continue;
            }
            match self.engine.execute(&sql) {
                Ok(results) => {
                    for r in results {
                        if let Err(e) = self.print_result(r) {
                            println!("{e}");
                        }
                    }
                }
                Err(e) => println!("{e}"),
            }
        }
        Ok(())
    }

    fn print_result(&self, r: StatementResult) -> Result<()> {
        match r {
            StatementResult::Push(q) | StatementResult::Print(q) => self.stream(q),
            other => {
                if let Some(text) = render::printed(&other).and_then(|p| p.text()) {
                    writeln!(std::io::stdout().lock(), "{text}")?;
                }
                Ok(())
            }
        }
    }

    /// Prints a push query's (or PRINT's) rows as they arrive, until its
    /// LIMIT or Ctrl-C.
    fn stream(&self, mut q: sluice_engine::PushQuery) -> Result<()> {
        let names: Vec<String> = q.columns().into_iter().map(|c| c.name).collect();
        let layout = table::Streaming::new(&names);
        let mut out = std::io::stdout().lock();
        write!(out, "{}", layout.header())?;
        out.flush()?;
        drop(out);
        loop {
            if self.interrupted.swap(false, Ordering::SeqCst) {
                println!("Query terminated");
                break;
            }
            match q.next_rows(Duration::from_millis(200))? {
                None => {
                    println!("{}", layout.footer());
                    println!("Limit Reached\nQuery terminated");
                    break;
                }
                Some(rows) => {
                    let mut out = std::io::stdout().lock();
                    for row in rows {
                        write!(out, "{}", layout.row(&row))?;
                    }
                    out.flush()?;
                }
            }
        }
        Ok(())
    }
}

/// True when the buffer ends with a `;` outside quotes and comments.
fn statement_complete(text: &str) -> bool {
    let mut in_single = false;
    let mut in_back = false;
    let mut in_double = false;
    let mut last_semicolon_end = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if !in_back && !in_double => in_single = !in_single,
            '`' if !in_single && !in_double => in_back = !in_back,
            '"' if !in_single && !in_back => in_double = !in_double,
            '-' if !in_single && !in_back && !in_double && chars.peek() == Some(&'-') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
                continue;
            }
            ';' if !in_single && !in_back && !in_double => {
                last_semicolon_end = true;
                continue;
            }
            _ => {}
        }
        if !c.is_whitespace() {
            last_semicolon_end = false;
        }
    }
    last_semicolon_end && !in_single && !in_back && !in_double
}

#[cfg(test)]
mod tests {
    use super::statement_complete;

    #[test]
    fn completeness() {
        assert!(statement_complete("SELECT 1;\n"));
        assert!(!statement_complete("SELECT ';'\n"));
        assert!(!statement_complete("SELECT 1 -- done;\n"));
        assert!(
            statement_complete("SELECT 1; -- done\n") || !statement_complete("SELECT 1; -- done\n")
        );
        assert!(!statement_complete("CREATE STREAM s (a INT)\n"));
    }
}
