//! The shell's line editing and commands in a real terminal (tmux):
//! history recalled after a restart, Tab completion, a 10 KB pasted
//! statement, SIGTERM, RUN SCRIPT and SPOOL.

use super::common::{data_dir, tables};
use super::shell::{
    boxed, last_line, path_text, prompts, since_prompt, Terminal, CREATE_PV, EXIT_STATUS, PROMPT,
};

#[test]
fn a_multi_line_statement_is_recalled_whole_after_a_restart() {
    let (dir, state) = (data_dir(), data_dir());
    let args = ["--data-dir".to_string(), path_text(dir.path())];
    {
        let Some(term) = Terminal::launch("history", &args, state.path()) else {
            return;
        };
        term.run(&CREATE_PV);
        term.run(&["SHOW STREAMS;"]);
        term.type_line("exit");
        assert_eq!(term.exit_status(), format!("{EXIT_STATUS}0]"));
    }
    let history = std::fs::read_to_string(state.path().join("sluice/history"))
        .expect("the history file in $XDG_STATE_HOME/sluice");
    assert!(history.contains("SHOW STREAMS;"), "{history}");

    let Some(term) = Terminal::launch("history", &args, state.path()) else {
        return;
    };
    // Up twice: SHOW STREAMS, then the two-line CREATE as one entry.
    term.keys("Up");
    term.wait_for("SHOW STREAMS recalled", |s| {
        last_line(s) == format!("{PROMPT} SHOW STREAMS;")
    });
    term.keys("Up");
    let screen = term.wait_for("the CREATE recalled", |s| last_line(s) == CREATE_PV[1]);
    let lines: Vec<&str> = screen.lines().collect();
    assert_eq!(
        lines[lines.len() - 2],
        format!("{PROMPT} {}", CREATE_PV[0]),
        "{screen}"
    );
    // Run as it was recalled: the stream exists already.
    let before = prompts(&screen);
    term.keys("Enter");
    let screen = term.wait_for("the answer", |s| {
        prompts(s) > before && last_line(s) == PROMPT
    });
    assert!(
        since_prompt(&screen, before - 1).contains("already exists"),
        "{screen}"
    );
}

#[test]
fn tab_completes_keywords_sources_and_columns() {
    let Some(term) = Terminal::start("completion") else {
        return;
    };
    term.run(&CREATE_PV);
    term.type_text("des");
    term.keys("Tab");
    term.wait_for("a keyword completed", |s| {
        last_line(s) == "sluice> describe"
    });
    term.type_text("p");
    term.keys("Tab");
    term.wait_for("a stream completed", |s| {
        last_line(s) == "sluice> describe pv"
    });
    term.keys("C-u");
    term.type_text("SELECT * FROM pv WHERE pag");
    term.keys("Tab");
    term.wait_for("a column completed", |s| {
        last_line(s) == "sluice> SELECT * FROM pv WHERE page"
    });
    // A column of a source named on an earlier line of the statement.
    term.keys("C-u");
    term.type_line("SELECT id FROM pv");
    term.wait_for("the continuation prompt", |s| last_line(s) == "     >");
    term.type_text("WHERE PAG");
    term.keys("Tab");
    term.wait_for("a column completed", |s| {
        last_line(s) == "     > WHERE PAGE"
    });
}

#[test]
fn a_pasted_10_kb_statement_is_accepted_whole() {
    let Some(term) = Terminal::start("paste") else {
        return;
    };
    term.run(&CREATE_PV);
    term.run(&["SET 'auto.offset.reset'='earliest';"]);
    let page = "x".repeat(10_000);
    // Two lines, pasted at once: one statement.
    let statement = format!("INSERT INTO pv (id, page)\n  VALUES ('big', '{page}');");
    let before = prompts(&term.screen());
    term.paste(&statement);
    term.keys("Enter");
    term.wait_for("the prompt after the paste", |s| {
        prompts(s) > before && last_line(s) == PROMPT
    });
    let out = term.run(&["SELECT id, LEN(page) AS n FROM pv EMIT CHANGES LIMIT 1;"]);
    assert_eq!(tables(&out)[0].rows(), [["big", "10000"]], "{out}");
}

#[test]
fn sigterm_stops_a_push_query_and_exits_cleanly() {
    let Some(term) = Terminal::start("sigterm") else {
        return;
    };
    term.run(&CREATE_PV);
    let before = prompts(&term.screen());
    term.type_line("SELECT * FROM pv EMIT CHANGES;");
    term.wait_for("the push query's header", |s| {
        tables(&since_prompt(s, before - 1)).len() == 1
    });
    let pid = term.sluice_pid();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("running kill");
    assert!(kill.success());
    assert_eq!(term.exit_status(), format!("{EXIT_STATUS}0]"));
    let screen = term.screen();
    assert!(
        screen.contains("Query terminated\nExiting Sluice."),
        "{screen}"
    );
}

#[test]
fn sigterm_at_the_prompt_exits_cleanly() {
    let Some(term) = Terminal::start("sigterm-prompt") else {
        return;
    };
    term.run(&CREATE_PV);
    term.type_text("SELECT");
    let pid = term.sluice_pid();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("running kill");
    assert!(kill.success());
    assert_eq!(term.exit_status(), format!("{EXIT_STATUS}0]"));
    assert!(
        term.screen().contains("Exiting Sluice."),
        "{}",
        term.screen()
    );
}

#[test]
fn run_script_and_spool() {
    let Some(term) = Terminal::start("script") else {
        return;
    };
    let scratch = data_dir();
    let script = scratch.path().join("setup.sql");
    std::fs::write(
        &script,
        format!(
            "{}\n{}\n/* a comment; with semicolons; */\nSET 'auto.offset.reset'='earliest';\n\
             INSERT INTO pv (id, page) VALUES ('u1', '/home');\n\
             SELECT * FROM pv EMIT CHANGES LIMIT 1",
            CREATE_PV[0], CREATE_PV[1]
        ),
    )
    .expect("writing the script");
    let spool = scratch.path().join("spool.txt");
    let out = term.run(&[&format!("SPOOL '{}'", path_text(&spool))]);
    assert!(out.contains("Spooling to"), "{out}");
    let out = term.run(&[&format!("RUN SCRIPT '{}';", path_text(&script))]);
    assert!(boxed(&out, "Stream created"), "{out}");
    assert_eq!(tables(&out)[0].rows(), [["u1", "/home"]], "{out}");
    term.run(&["SHOW STREAMS;"]);
    let out = term.run(&["spool off"]);
    assert!(out.contains("Stopped spooling to"), "{out}");
    term.run(&["SHOW TOPICS;"]);
    let spooled = std::fs::read_to_string(&spool).expect("the spool file");
    // What was typed and what was shown, up to SPOOL OFF.
    assert!(spooled.contains("sluice> RUN SCRIPT"), "{spooled}");
    assert!(spooled.contains("Stream created"), "{spooled}");
    assert!(spooled.contains("| u1 "), "{spooled}");
    assert!(spooled.contains("sluice> SHOW STREAMS;"), "{spooled}");
    assert!(spooled.contains("| PV "), "{spooled}");
    assert!(!spooled.contains("SHOW TOPICS"), "{spooled}");
}

#[test]
fn help_needs_no_semicolon() {
    let Some(term) = Terminal::start("help") else {
        return;
    };
    let out = term.run(&["help"]);
    assert!(out.contains("RUN SCRIPT 'file'"), "{out}");
    let out = term.run(&["version"]);
    assert!(
        out.contains(&format!("Version: {}", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
}

#[test]
fn keywords_strings_and_the_matching_bracket_are_highlighted_and_keywords_hinted() {
    let Some(term) = Terminal::start("highlighting") else {
        return;
    };
    term.type_text("select 'x', f(a) FR");
    // Keywords bold blue, strings green, the rest of FROM hinted (dim).
    let wait_coloured = |what: &str, part: &str| {
        let start = std::time::Instant::now();
        loop {
            let screen = term.coloured_screen();
            if screen.contains(part) {
                return;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(15),
                "no {what} ({part:?}) on the screen:\n{screen:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    wait_coloured("the keyword", "\x1b[34mselect\x1b[0m");
    wait_coloured("the string", "\x1b[32m'x'");
    wait_coloured("the hint", "FR\x1b[2mOM");
    // On the closing bracket, the opening one is shown.
    term.keys("Left");
    term.keys("Left");
    term.keys("Left");
    term.keys("Left");
    wait_coloured("the matching bracket", "f\x1b[7m(\x1b[0m");
    // Right at the end of the line takes the hint.
    term.keys("End");
    term.keys("Right");
    term.wait_for("the hint taken", |s| {
        last_line(s) == "sluice> select 'x', f(a) FROM"
    });
}
