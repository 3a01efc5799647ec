//! Command-line grammar: turns the text that followed `AT` on one line into commands.
//! Pure and table-free: it knows the V.250 shapes (basic, S-register, `&`, extended), not which exist.

/// One parameter of an extended set command, as typed (spaces outside quotes already removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The text without surrounding quotes.
    pub text: String,
    /// Whether the client wrote it between double quotes.
    pub quoted: bool,
}

impl Param {
    /// An omitted parameter (`AT+CMGD=,4` has an omitted first one).
    pub fn is_omitted(&self) -> bool {
        !self.quoted && self.text.is_empty()
    }
}

/// How a command was invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// Extended command with no suffix: `AT+CSQ`.
    Action,
    /// `AT+CREG?`
    Read,
    /// `AT+CREG=?`
    Test,
    /// `AT+CREG=2` (an empty list for `AT+CPMS=`).
    Set(Vec<Param>),
    /// Basic command with an optional number: `ATE`, `ATE1`, `AT&D2`.
    /// A number too large for `u32` is kept as `u32::MAX`, which no command accepts.
    Basic(Option<u32>),
    /// `ATS7?`
    SRead(u32),
    /// `ATS7=45` (a missing value reads as 0, as V.250 says).
    SSet(u32, u32),
    /// `ATD...`: the rest of the line, as typed.
    Dial(String),
}

/// One command of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Upper-case name: `E`, `&D`, `S`, `D`, `+CREG`, `#SELINT`, `^CVOICE`.
    pub name: String,
    pub form: Form,
}

/// Why a line could not be parsed past some point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyntaxError {
    /// A character that cannot start or continue a command here.
    Unexpected { at: usize, byte: u8 },
    /// A `"` with no closing quote.
    UnterminatedQuote,
    /// `;` with no command before it.
    EmptyCommand { at: usize },
    /// Parameter text around a quoted string (`"a"b`).
    BadParameter { at: usize },
}

/// The commands of one line, left to right, up to the first syntax error.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedLine {
    pub commands: Vec<Command>,
    /// Set when parsing stopped early; the commands before it still run, left to right.
    pub error: Option<SyntaxError>,
}

/// Removes spaces outside double quotes; fails on an unterminated quote.
fn strip_spaces(line: &[u8]) -> Result<Vec<u8>, SyntaxError> {
    let mut out = Vec::with_capacity(line.len());
    let mut in_quotes = false;
    for &b in line {
        if b == b'"' {
            in_quotes = !in_quotes;
        }
        if b == b' ' && !in_quotes {
            continue;
        }
        out.push(b);
    }
    if in_quotes {
        return Err(SyntaxError::UnterminatedQuote);
    }
    Ok(out)
}

fn is_extended_prefix(b: u8) -> bool {
    matches!(b, b'+' | b'#' | b'$' | b'*' | b'^' | b'%')
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'!' | b'%' | b'-' | b'.' | b'/' | b':' | b'_')
}

/// Reads decimal digits at `pos`; returns the value (saturated to `u32::MAX`) and the new position.
fn digits(s: &[u8], mut pos: usize) -> (Option<u32>, usize) {
    let start = pos;
    let mut value: u32 = 0;
    while pos < s.len() && s[pos].is_ascii_digit() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u32::from(s[pos] - b'0')))
            .unwrap_or(u32::MAX);
        pos += 1;
    }
    if pos == start {
        (None, pos)
    } else {
        (Some(value), pos)
    }
}

/// Splits `a,"b,c",,d` into parameters (input has no spaces outside quotes).
fn split_params(s: &[u8], base: usize) -> Result<Vec<Param>, SyntaxError> {
    let mut params = Vec::new();
    let mut pos = 0;
    loop {
        let start = pos;
        if pos < s.len() && s[pos] == b'"' {
            let close = s[pos + 1..]
                .iter()
                .position(|&b| b == b'"')
                .ok_or(SyntaxError::UnterminatedQuote)?;
            let text = String::from_utf8_lossy(&s[pos + 1..pos + 1 + close]).into_owned();
            pos += close + 2;
            if pos < s.len() && s[pos] != b',' {
                return Err(SyntaxError::BadParameter { at: base + pos });
            }
            params.push(Param { text, quoted: true });
        } else {
            while pos < s.len() && s[pos] != b',' {
                if s[pos] == b'"' {
                    return Err(SyntaxError::BadParameter { at: base + pos });
                }
                pos += 1;
            }
            let text = String::from_utf8_lossy(&s[start..pos]).into_owned();
            params.push(Param {
                text,
                quoted: false,
            });
        }
        if pos >= s.len() {
            return Ok(params);
        }
        pos += 1; // the comma
    }
}

/// Finds the end of an extended command's argument text: the next `;` outside quotes.
fn argument_end(s: &[u8], mut pos: usize) -> usize {
    let mut in_quotes = false;
    while pos < s.len() {
        match s[pos] {
            b'"' => in_quotes = !in_quotes,
            b';' if !in_quotes => return pos,
            _ => {}
        }
        pos += 1;
    }
    pos
}

/// Parses the text after the `AT` prefix of one command line.
pub fn parse_line(line: &[u8]) -> ParsedLine {
    let mut parsed = ParsedLine::default();
    let s = match strip_spaces(line) {
        Ok(s) => s,
        Err(e) => {
            parsed.error = Some(e);
            return parsed;
        }
    };
    let mut pos = 0;
    // Whether a `;` may stand here (right after a command).
    let mut after_command = false;
    while pos < s.len() {
        let b = s[pos];
        if b == b';' {
            if !after_command {
                parsed.error = Some(SyntaxError::EmptyCommand { at: pos });
                return parsed;
            }
            after_command = false;
            pos += 1;
            continue;
        }
        let step = if is_extended_prefix(b) {
            parse_extended(&s, pos)
        } else if b.is_ascii_alphabetic() || b == b'&' || b == b'\\' {
            parse_basic(&s, pos)
        } else {
            Err(SyntaxError::Unexpected { at: pos, byte: b })
        };
        match step {
            Ok((command, next, needs_separator)) => {
                parsed.commands.push(command);
                pos = next;
                after_command = true;
                if needs_separator && pos < s.len() && s[pos] != b';' {
                    parsed.error = Some(SyntaxError::Unexpected {
                        at: pos,
                        byte: s[pos],
                    });
                    return parsed;
                }
            }
            Err(e) => {
                parsed.error = Some(e);
                return parsed;
            }
        }
    }
    parsed
}

type Step = Result<(Command, usize, bool), SyntaxError>;

fn parse_extended(s: &[u8], start: usize) -> Step {
    let mut pos = start + 1;
    while pos < s.len() && is_name_char(s[pos]) {
        pos += 1;
    }
    if pos == start + 1 {
        return Err(SyntaxError::Unexpected {
            at: start,
            byte: s[start],
        });
    }
    let name = String::from_utf8_lossy(&s[start..pos]).to_ascii_uppercase();
    let (form, next) = match s.get(pos) {
        None | Some(b';') => (Form::Action, pos),
        Some(b'?') => (Form::Read, pos + 1),
        Some(b'=') if s.get(pos + 1) == Some(&b'?') => (Form::Test, pos + 2),
        Some(b'=') => {
            let end = argument_end(s, pos + 1);
            let text = &s[pos + 1..end];
            let params = if text.is_empty() {
                Vec::new()
            } else {
                split_params(text, pos + 1)?
            };
            (Form::Set(params), end)
        }
        Some(&other) => {
            return Err(SyntaxError::Unexpected {
                at: pos,
                byte: other,
            });
        }
    };
    Ok((Command { name, form }, next, true))
}

fn parse_basic(s: &[u8], start: usize) -> Step {
    let first = s[start].to_ascii_uppercase();
    if first == b'D' {
        let text = String::from_utf8_lossy(&s[start + 1..]).into_owned();
        let command = Command {
            name: "D".into(),
            form: Form::Dial(text),
        };
        return Ok((command, s.len(), false));
    }
    if first == b'S' {
        return parse_s_register(s, start);
    }
    let (name, pos) = if first == b'&' || first == b'\\' {
        match s.get(start + 1) {
            Some(c) if c.is_ascii_alphabetic() => (
                format!("{}{}", first as char, c.to_ascii_uppercase() as char),
                start + 2,
            ),
            _ => {
                return Err(SyntaxError::Unexpected {
                    at: start,
                    byte: s[start],
                });
            }
        }
    } else {
        ((first as char).to_string(), start + 1)
    };
    let (value, next) = digits(s, pos);
    Ok((
        Command {
            name,
            form: Form::Basic(value),
        },
        next,
        false,
    ))
}

fn parse_s_register(s: &[u8], start: usize) -> Step {
    let (index, pos) = digits(s, start + 1);
    let Some(index) = index else {
        return Err(SyntaxError::Unexpected {
            at: start,
            byte: s[start],
        });
    };
    let form_and_next = match s.get(pos) {
        Some(b'?') => (Form::SRead(index), pos + 1),
        Some(b'=') => {
            if s.get(pos + 1) == Some(&b'?') {
                return Err(SyntaxError::Unexpected {
                    at: pos + 1,
                    byte: b'?',
                });
            }
            let (value, next) = digits(s, pos + 1);
            (Form::SSet(index, value.unwrap_or(0)), next)
        }
        _ => {
            return Err(SyntaxError::Unexpected {
                at: pos,
                byte: s.get(pos).copied().unwrap_or(0),
            });
        }
    };
    let (form, next) = form_and_next;
    Ok((
        Command {
            name: "S".into(),
            form,
        },
        next,
        false,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(line: &str) -> Vec<String> {
        parse_line(line.as_bytes())
            .commands
            .into_iter()
            .map(|c| c.name)
            .collect()
    }

    fn p(text: &str, quoted: bool) -> Param {
        Param {
            text: text.into(),
            quoted,
        }
    }

    #[test]
    fn chained_basic_commands_split_without_separators() {
        assert_eq!(names("E0V1&C1"), ["E", "V", "&C"]);
        let parsed = parse_line(b"E0V1&C1");
        assert_eq!(parsed.commands[0].form, Form::Basic(Some(0)));
        assert_eq!(parsed.commands[2].form, Form::Basic(Some(1)));
        assert_eq!(parsed.error, None);
    }

    #[test]
    fn spaces_between_basic_commands_are_ignored() {
        let parsed = parse_line(b" S7=45 S0=0 V1 X4");
        assert_eq!(
            parsed.commands,
            vec![
                Command {
                    name: "S".into(),
                    form: Form::SSet(7, 45)
                },
                Command {
                    name: "S".into(),
                    form: Form::SSet(0, 0)
                },
                Command {
                    name: "V".into(),
                    form: Form::Basic(Some(1))
                },
                Command {
                    name: "X".into(),
                    form: Form::Basic(Some(4))
                },
            ]
        );
    }

    #[test]
    fn extended_forms_are_recognised() {
        let parsed = parse_line(b"+CREG?;+CREG=?;+CSQ;+CREG=2");
        let forms: Vec<Form> = parsed.commands.into_iter().map(|c| c.form).collect();
        assert_eq!(
            forms,
            vec![
                Form::Read,
                Form::Test,
                Form::Action,
                Form::Set(vec![p("2", false)])
            ]
        );
    }

    #[test]
    fn quoted_parameters_keep_spaces_semicolons_and_case() {
        let parsed = parse_line(b"+COPS=1, 0,\"My Net; x\"");
        assert_eq!(parsed.commands[0].name, "+COPS");
        assert_eq!(
            parsed.commands[0].form,
            Form::Set(vec![p("1", false), p("0", false), p("My Net; x", true)])
        );
    }

    #[test]
    fn empty_parameters_are_kept_as_omitted() {
        let parsed = parse_line(b"+CMGD=,4");
        let Form::Set(params) = &parsed.commands[0].form else {
            panic!("not a set form")
        };
        assert!(params[0].is_omitted());
        assert_eq!(params[1], p("4", false));
    }

    #[test]
    fn extended_names_are_upper_cased_and_basic_follows_after_semicolon() {
        let parsed = parse_line(b"+cifsr;e0");
        assert_eq!(names("+cifsr;e0"), ["+CIFSR", "E"]);
        assert_eq!(parsed.commands[1].form, Form::Basic(Some(0)));
    }

    #[test]
    fn extended_command_needs_a_semicolon_before_the_next() {
        let parsed = parse_line(b"+CSQE0");
        // `+CSQE0` is one (unknown) name: name characters run on.
        assert_eq!(names("+CSQE0"), ["+CSQE0"]);
        assert_eq!(parsed.error, None);
        let parsed = parse_line(b"+CREG?E0");
        assert_eq!(parsed.commands.len(), 1);
        assert_eq!(
            parsed.error,
            Some(SyntaxError::Unexpected { at: 6, byte: b'E' })
        );
    }

    #[test]
    fn lone_semicolons_are_an_error() {
        let parsed = parse_line(b";;;");
        assert!(parsed.commands.is_empty());
        assert_eq!(parsed.error, Some(SyntaxError::EmptyCommand { at: 0 }));
        let parsed = parse_line(b"E0;;V1");
        assert_eq!(parsed.commands.len(), 1);
        assert_eq!(parsed.error, Some(SyntaxError::EmptyCommand { at: 3 }));
    }

    #[test]
    fn trailing_semicolon_after_a_command_is_accepted() {
        let parsed = parse_line(b"+CSQ;");
        assert_eq!(parsed.commands.len(), 1);
        assert_eq!(parsed.error, None);
    }

    #[test]
    fn unterminated_quote_is_an_error_before_anything_runs() {
        let parsed = parse_line(b"E0;+COPS=1,0,\"abc");
        assert!(parsed.commands.is_empty());
        assert_eq!(parsed.error, Some(SyntaxError::UnterminatedQuote));
    }

    #[test]
    fn text_around_a_quoted_parameter_is_an_error() {
        let parsed = parse_line(b"+CSCS=\"GSM\"x");
        assert_eq!(parsed.error, Some(SyntaxError::BadParameter { at: 11 }));
    }

    #[test]
    fn s_register_forms() {
        assert_eq!(parse_line(b"S0?").commands[0].form, Form::SRead(0));
        assert_eq!(parse_line(b"S7=").commands[0].form, Form::SSet(7, 0));
        assert_eq!(parse_line(b"S999=1").commands[0].form, Form::SSet(999, 1));
        assert!(parse_line(b"S7").error.is_some());
        assert!(parse_line(b"S").error.is_some());
        assert!(parse_line(b"S0=?").error.is_some());
    }

    #[test]
    fn huge_numbers_saturate_instead_of_overflowing() {
        let parsed = parse_line(b"E99999999999999999999");
        assert_eq!(parsed.commands[0].form, Form::Basic(Some(u32::MAX)));
    }

    #[test]
    fn dial_takes_the_rest_of_the_line() {
        let parsed = parse_line(b"D*99***1#");
        assert_eq!(
            parsed.commands,
            vec![Command {
                name: "D".into(),
                form: Form::Dial("*99***1#".into())
            }]
        );
    }

    #[test]
    fn unexpected_bytes_stop_the_parse() {
        let parsed = parse_line(b"+CREG}1");
        assert_eq!(parsed.commands.len(), 0);
        assert_eq!(
            parsed.error,
            Some(SyntaxError::Unexpected { at: 5, byte: b'}' })
        );
        let parsed = parse_line(&[b'E', b'0', 0xFF]);
        assert_eq!(parsed.commands.len(), 1);
        assert!(parsed.error.is_some());
        assert!(parse_line(b"&").error.is_some());
        assert!(parse_line(b"+").error.is_some());
    }
}
