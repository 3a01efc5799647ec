#![no_main]
//! Fuzz target: the AT command-line parser (`simodem::at::parse_line`) on any bytes. Checks
//! upper-case names, error offsets inside the line (or at its end), and that the commands re-rendered as text
//! parse back to the same commands with no error.

use libfuzzer_sys::fuzz_target;
use simodem::at::{Command, Form, SyntaxError, parse_line};

/// The commands as a client would type them again, `;`-separated.
fn render(commands: &[Command]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, command) in commands.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        match &command.form {
            Form::Action => out.extend_from_slice(command.name.as_bytes()),
            Form::Read => out.extend_from_slice(format!("{}?", command.name).as_bytes()),
            Form::Test => out.extend_from_slice(format!("{}=?", command.name).as_bytes()),
            Form::Set(params) => {
                out.extend_from_slice(command.name.as_bytes());
                out.push(b'=');
                for (j, p) in params.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    if p.quoted {
                        out.push(b'"');
                    }
                    out.extend_from_slice(p.text.as_bytes());
                    if p.quoted {
                        out.push(b'"');
                    }
                }
            }
            Form::Basic(value) => {
                out.extend_from_slice(command.name.as_bytes());
                if let Some(v) = value {
                    out.extend_from_slice(v.to_string().as_bytes());
                }
            }
            Form::SRead(index) => out.extend_from_slice(format!("S{index}?").as_bytes()),
            Form::SSet(index, value) => {
                out.extend_from_slice(format!("S{index}={value}").as_bytes())
            }
            Form::Dial(text) => {
                out.push(b'D');
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let parsed = parse_line(data);
    for command in &parsed.commands {
        assert!(!command.name.is_empty(), "empty name in {parsed:?}");
        assert_eq!(
            command.name,
            command.name.to_ascii_uppercase(),
            "name not upper case"
        );
    }
    if let Some(
        SyntaxError::Unexpected { at, .. }
        | SyntaxError::EmptyCommand { at }
        | SyntaxError::BadParameter { at },
    ) = &parsed.error
    {
        // `at == len` is the end of the line (`ATS3` with nothing after the register number).
        assert!(
            *at <= data.len(),
            "error offset {at} past the line ({})",
            data.len()
        );
    }
    let text = render(&parsed.commands);
    let again = parse_line(&text);
    assert_eq!(
        again.error,
        None,
        "rendered {:?} of {parsed:?} does not parse",
        String::from_utf8_lossy(&text)
    );
    assert_eq!(
        again.commands,
        parsed.commands,
        "rendered {:?} parses differently",
        String::from_utf8_lossy(&text)
    );
});
