//! `qtt [--json REPORT] [--filter SUBSTRING] [--cases LIST] [--http]
//! [--bootstrap-servers HOST:PORT] [--set NAME=VALUE]... PATH...`: runs ksqlDB QTT/RQTT case files
//! (or folders of them, recursed) against Sluice, one fresh engine per case
//! (on the embedded log, or on a Kafka cluster with a topic prefix per
//! case; with `--http`, through a server of its own over real HTTP),
//! printing `PASS|FAIL|SKIP <file>/<case>` per case and a
//! final `N passed, M failed[, K skipped]` line. Exits 0 whenever it ran.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::PathBuf;

const USAGE: &str = "usage: qtt [--json REPORT] [--filter SUBSTRING] [--cases LIST] [--http] [--bootstrap-servers HOST:PORT] [--set NAME=VALUE]... PATH...
  --cases LIST      run only the cases named in LIST (one `file/case name` per line, # comments)
  --http            send each case's statements through a server over HTTP (/ksql, /query)
  --set NAME=VALUE  a property for every case (e.g. processing.guarantee=exactly_once_v2)";

struct Args {
    json: Option<PathBuf>,
    filter: Option<String>,
    cases: Option<PathBuf>,
    bootstrap_servers: Option<String>,
    http: bool,
    properties: Vec<(String, String)>,
    paths: Vec<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        json: None,
        filter: None,
        cases: None,
        bootstrap_servers: None,
        http: false,
        properties: Vec::new(),
        paths: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--json" => args.json = Some(it.next().context("--json needs a file")?.into()),
            "--filter" => args.filter = Some(it.next().context("--filter needs a text")?),
            "--cases" => args.cases = Some(it.next().context("--cases needs a file")?.into()),
            "--bootstrap-servers" => {
                args.bootstrap_servers =
                    Some(it.next().context("--bootstrap-servers needs HOST:PORT")?)
            }
            "--http" => args.http = true,
            "--set" => {
                let set = it.next().context("--set needs NAME=VALUE")?;
                let (name, value) = set.split_once('=').context("--set needs NAME=VALUE")?;
                args.properties.push((name.to_string(), value.to_string()));
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            s if s.starts_with("--json=") => args.json = Some(s["--json=".len()..].into()),
            s if s.starts_with("--filter=") => args.filter = Some(s["--filter=".len()..].into()),
            s if s.starts_with("--bootstrap-servers=") => {
                args.bootstrap_servers = Some(s["--bootstrap-servers=".len()..].into())
            }
            s if s.starts_with("--") => bail!("unknown option {s}"),
            _ => args.paths.push(arg.into()),
        }
    }
    if args.paths.is_empty() {
        bail!("no PATH given");
    }
    if args.http && args.bootstrap_servers.is_some() {
        bail!("--http runs on the embedded log; it does not take --bootstrap-servers");
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("qtt: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("qtt: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<()> {
    let stdout = std::io::stdout();
    let only = match &args.cases {
        Some(path) => Some(sluice_tests::read_case_list(path).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let print = |result: &sluice_tests::CaseResult| {
        let mut out = stdout.lock();
        // A closed pipe (e.g. `| head`) must not stop the run.
        let _ = writeln!(out, "{}", result.line());
        let _ = out.flush();
    };
    let report = if args.http {
        sluice_tests::run_paths_over_http(
            &args.paths,
            args.filter.as_deref(),
            only.as_ref(),
            &args.properties,
            print,
        )
    } else {
        sluice_tests::run_paths_selected(
            &args.paths,
            args.filter.as_deref(),
            only.as_ref(),
            args.bootstrap_servers.as_deref(),
            &args.properties,
            print,
        )
    };
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report.to_json())?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let _ = writeln!(stdout.lock(), "{}", report.summary());
    Ok(())
}
