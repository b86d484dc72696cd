//! `sluice`: the shell. Reads ksqlDB statements (each ended by `;`,
//! possibly over several lines) from the terminal (rustyline), a script
//! file or `-e`, runs them on an embedded engine or a server (remote mode,
//! `sluice http://host:8088`) and prints the results as ksqlDB's CLI does.
//! `sluice server` serves ksqlDB's REST API.

mod args;
mod backend;
mod commands;
mod complete;
mod editor;
mod highlight;
mod output;
mod password;
mod render;
mod shell;
mod signals;
mod table;

/// jemalloc: the engine allocates and frees rows in batches, which it
/// serves much better than glibc's malloc (see README, Benchmarks).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use anyhow::{Context, Result};
use args::{Cli, Command, ServerArgs, ShellArgs};
use backend::{embedded::Embedded, remote::Remote, Backend};
use clap::Parser;
use sluice_engine::{Engine, EngineConfig, StatementResult};
use std::cell::{Cell, RefCell};
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn main() {
    let cli = Cli::parse();
    // The shell runs statements and push queries on a thread with the
    // engine's query stack: deeply nested expressions need it.
    let shell = std::thread::Builder::new()
        .name("sluice-shell".into())
        .stack_size(sluice_engine::runtime::THREAD_STACK)
        .spawn(move || match cli.command {
            Some(Command::Server(args)) => server(args),
            None => run(cli.shell),
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

/// Settings from a properties file (first) and then flags.
fn settings(config_file: Option<&Path>) -> Result<Vec<(String, String)>> {
    match config_file {
        Some(path) => Ok(sluice_engine::read_properties_file(path)
            .with_context(|| format!("reading {}", path.display()))?
            .into_iter()
            .collect()),
        None => Ok(Vec::new()),
    }
}

/// `sluice server`: ksqlDB's REST API over an engine, until SIGINT or
/// SIGTERM.
fn server(args: ServerArgs) -> Result<()> {
    init_logging(None);
    let data_dir = args.data_dir.unwrap_or_else(args::default_data_dir);
    let settings = settings(args.config_file.as_deref())?;
    let from_file = settings.iter().find(|(k, _)| k == "listeners");
    let listener = args
        .listeners
        .or_else(|| from_file.map(|(_, v)| v.clone()))
        .unwrap_or_else(|| sluice_server::DEFAULT_LISTENER.to_string());
    let registry_listener = args.schema_registry_listeners.or_else(|| {
        settings
            .iter()
            .find(|(k, _)| k == "schema.registry.listeners")
            .map(|(_, v)| v.clone())
    });
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
        registry_listener,
        analytic: Some(Arc::new(sluice_analytic::DataFusionSql::try_new(
            Default::default(),
        )?)),
    })?;
    Ok(())
}

/// Where the engine's messages go: a log file (the shells: never over
/// the prompt or a script's output), or stderr (the server, headless).
fn init_logging(file: Option<&Path>) {
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO);
    let _ = match file {
        None => builder
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .without_time()
            .try_init(),
        Some(path) => {
            let opened = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| {
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                });
            match opened {
                Ok(f) => builder
                    .with_writer(std::sync::Mutex::new(f))
                    .with_ansi(false)
                    .try_init(),
                // No log rather than messages over the prompt.
                Err(_) => return,
            }
        }
    };
}

/// The shell's log file when it has no data directory of its own.
fn state_log() -> Option<PathBuf> {
    editor::state_dir().map(|d| d.join("sluice.log"))
}

fn run(args: ShellArgs) -> Result<()> {
    let backend: Box<dyn Backend> = match args.server_url() {
        Some(url) => {
            init_logging(state_log().as_deref());
            let password = match (&args.user, &args.password) {
                (Some(user), None) => Some(password::ask(user)?),
                (_, given) => given.clone(),
            };
            // A CA to trust: --ca-file, or ssl.ca.location in the config
            // file (PEM; ksqlDB's JKS truststores need Java).
            let ca = match &args.ca_file {
                Some(path) => Some(path.clone()),
                None => settings(args.config_file.as_deref())?
                    .into_iter()
                    .find(|(k, _)| k == "ssl.ca.location")
                    .map(|(_, v)| std::path::PathBuf::from(v)),
            };
            Box::new(Remote::connect(
                url,
                args.user.as_deref(),
                password.as_deref(),
                ca.as_deref(),
            )?)
        }
        None => {
            let engine = open_engine(&args)?;
            if let Some(file) = &args.queries_file {
                return headless(&engine, file);
            }
            let location = match &args.bootstrap_servers {
                Some(servers) => format!("Kafka at {servers}"),
                None => format!(
                    "data directory {}",
                    args.data_dir
                        .clone()
                        .unwrap_or_else(args::default_data_dir)
                        .display()
                ),
            };
            Box::new(Embedded::new(&engine, location))
        }
    };
    let script = match (&args.execute, &args.file) {
        (Some(sql), _) => Some(sql.clone()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?,
        ),
        (None, None) => None,
    };
    let editor = if script.is_none() && std::io::stdin().is_terminal() {
        Some(editor::new_editor()?)
    } else {
        None
    };
    let signals = signals::Signals::install()?;
    signals.set_on_terminate(backend.on_terminate());
    let mut shell = shell::Shell {
        backend: Rc::new(RefCell::new(backend)),
        out: output::Output::new(args.output),
        signals,
        row_limit: args.query_row_limit,
        timeout: args.query_timeout.map(Duration::from_millis),
        catalog_stale: Rc::new(Cell::new(true)),
        history: Vec::new(),
    };
    for (name, value) in &args.define {
        let define = format!("DEFINE {name} = '{}';", value.replace('\'', "''"));
        let piece = sluice_engine::sql::StatementText {
            text: define,
            pos: sluice_engine::error::Pos { line: 1, col: 1 },
        };
        shell
            .backend
            .borrow_mut()
            .run(&piece)
            .map_err(|e| anyhow::anyhow!("--define {name}: {e}"))?;
    }
    if let Some(sql) = script {
        return match shell.run(&sql) {
            Ok(_) => Ok(()),
            Err(failure) => Err(anyhow::anyhow!("{failure}")),
        };
    }
    if let Some(editor) = editor {
        let (location, status) = shell.backend.borrow().banner();
        let version = env!("CARGO_PKG_VERSION");
        let place = if args.server_url().is_some() {
            format!("Server: {location}")
        } else {
            format!("Embedded engine: {location}")
        };
        shell.out.line(&format!(
            "Sluice {version} — ksqlDB-compatible stream processing\n{place}, status {status}\nStatements end with ';'. Type 'help' for help, 'exit' to leave."
        ));
        editor::interactive(&mut shell, editor)
    } else {
        piped(&mut shell)
    }
}

/// Opens the embedded engine (on the data directory, or on Kafka).
fn open_engine(args: &ShellArgs) -> Result<Engine> {
    let data_dir = args.data_dir.clone().unwrap_or_else(args::default_data_dir);
    if args.queries_file.is_some() {
        init_logging(None);
    } else if args.bootstrap_servers.is_some() {
        init_logging(state_log().as_deref());
    } else {
        init_logging(Some(&data_dir.join("sluice.log")));
    }
    let mut settings = settings(args.config_file.as_deref())?;
    if let Some(servers) = &args.bootstrap_servers {
        settings.push(("bootstrap.servers".into(), servers.clone()));
    }
    if let Some(id) = &args.service_id {
        settings.push(("ksql.service.id".into(), id.clone()));
    }
    let mut config = EngineConfig {
        data_dir: Some(data_dir.clone()),
        background: true,
        ..Default::default()
    };
    config.apply_settings(settings);
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
            .with_context(|| format!("opening data directory {}", data_dir.display()))?,
    };
    sluice_analytic::install(&engine)?;
    Ok(engine)
}

/// Headless mode, as ksqlDB's `queries.file`: runs the file's statements,
/// then keeps the persistent queries running until SIGINT or SIGTERM.
fn headless(engine: &Engine, file: &Path) -> Result<()> {
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

/// Statements piped in (no terminal): run as each is complete; a failure
/// is printed and the next statement read.
fn piped(shell: &mut shell::Shell) -> Result<()> {
    let mut buffer = String::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if buffer.is_empty() && line.trim().is_empty() {
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        let single_command = !buffer.contains(';') && commands::parse(&buffer).is_some();
        if !single_command && !statement_complete(&buffer) {
            continue;
        }
        let text = std::mem::take(&mut buffer);
        match shell.run(&text) {
            Ok(shell::Flow::Exit) => return Ok(()),
            Ok(shell::Flow::Continue) => {}
            Err(failure) => shell.out.line(&failure.message),
        }
        if shell.signals.terminating() {
            return Ok(());
        }
    }
    if !buffer.trim().is_empty() {
        if let Err(failure) = shell.run(&buffer) {
            shell.out.line(&failure.message);
        }
    }
    Ok(())
}

/// True when the buffer ends with a `;` outside quotes and comments.
pub fn statement_complete(text: &str) -> bool {
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
            '/' if !in_single && !in_back && !in_double && chars.peek() == Some(&'*') => {
                chars.next();
                let mut star = false;
                let mut closed = false;
                for n in chars.by_ref() {
                    if star && n == '/' {
                        closed = true;
                        break;
                    }
                    star = n == '*';
                }
                if !closed {
                    return false;
                }
                continue;
            }
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
        assert!(!statement_complete("/* a; b;\n"));
        assert!(statement_complete("/* a; b */ SELECT 1;\n"));
        assert!(!statement_complete("SELECT 1; /* x */ SELECT\n"));
    }
}
