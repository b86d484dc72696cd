//! The command line, parsed with clap: the shell's arguments (ksqlDB's
//! CLI flags plus the embedded engine's) and the `server` subcommand.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Sluice: ksqlDB-compatible stream processing. Without a server URL the
/// shell runs an embedded engine on a data directory.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub shell: ShellArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve ksqlDB's REST API over an engine, until SIGINT or SIGTERM.
    Server(ServerArgs),
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum OutputFormat {
    Tabular,
    Json,
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    /// A Sluice or ksqlDB server to talk to (http:// or https://)
    #[arg(value_name = "SERVER", conflicts_with = "server")]
    pub url: Option<String>,
    /// The same, as a flag
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// User name for the server's basic authentication (without
    /// --password, the password is asked for on the terminal, not echoed)
    #[arg(short, long)]
    pub user: Option<String>,
    /// Password for the server's basic authentication
    #[arg(short, long, requires = "user")]
    pub password: Option<String>,
    /// PEM file of the CA certificates to trust for an https:// server
    /// (e.g. its self-signed certificate); also `ssl.ca.location` in
    /// --config-file. Without it the Mozilla (webpki) roots are trusted
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Run the statements in FILE, then exit
    #[arg(short, long, value_name = "FILE", conflicts_with = "execute")]
    pub file: Option<PathBuf>,
    /// Run SQL, then exit
    #[arg(short, long, value_name = "SQL")]
    pub execute: Option<String>,
    /// Define a variable, as DEFINE does (repeatable)
    #[arg(long, value_name = "NAME=VALUE", value_parser = name_value)]
    pub define: Vec<(String, String)>,
    /// How results are printed
    #[arg(long, value_enum, ignore_case = true, default_value = "TABULAR")]
    pub output: OutputFormat,
    /// Stop push queries after this many rows
    #[arg(long, value_name = "ROWS")]
    pub query_row_limit: Option<u64>,
    /// Stop push queries after this many milliseconds
    #[arg(long, value_name = "MS")]
    pub query_timeout: Option<u64>,
    /// Embedded: where topics, queries and state live (default:
    /// $SLUICE_DATA_DIR or ./sluice-data)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Embedded: run over this Kafka cluster instead of the embedded log
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_servers: Option<String>,
    /// Properties file. Embedded: bootstrap.servers, ksql.* settings, Kafka
    /// client settings passed through. Remote: ssl.ca.location
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Embedded: ksql.service.id (processes with the same id share streams,
    /// tables and queries)
    #[arg(long, value_name = "ID")]
    pub service_id: Option<String>,
    /// Embedded, headless: run the statements in FILE, then keep the
    /// persistent queries running until SIGINT or SIGTERM
    #[arg(long, value_name = "FILE")]
    pub queries_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Where the REST API listens (default: http://0.0.0.0:8088, or the
    /// config file's `listeners`)
    #[arg(long, value_name = "URL")]
    pub listeners: Option<String>,
    /// Where the schema registry API listens (default: http://0.0.0.0:8081
    /// when free, or the config file's `schema.registry.listeners`; `none`
    /// serves none)
    #[arg(long, value_name = "URL")]
    pub schema_registry_listeners: Option<String>,
    /// The embedded log's directory (default: $SLUICE_DATA_DIR or
    /// ./sluice-data)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Properties file, as for the shell; also authentication.* (basic
    /// authentication) and ssl.* (for an https:// listener)
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
}

fn name_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((n, v)) if !n.trim().is_empty() => Ok((n.trim().to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, found '{s}'")),
    }
}

impl ShellArgs {
    /// The server to talk to, if any.
    pub fn server_url(&self) -> Option<&str> {
        self.url.as_deref().or(self.server.as_deref())
    }
}

/// `$SLUICE_DATA_DIR`, or `./sluice-data`.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("SLUICE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("sluice-data"))
}
