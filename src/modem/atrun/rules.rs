//! The application note's tables as data: suggested `#ATRUNDELAY` values (B.18) and the
//! commands that block or limit SMS and TCP ATRUN (B.19).
//!
//! Patterns are command text without the `AT` prefix, read with the crate's own parser
//! ([`crate::at::parse_line`]), so they compare as commands, not as strings; see [`matches`].
// Nothing outside the tests uses this until the ATRUN services are wired in.
#![cfg_attr(not(test), allow(dead_code))]

use crate::at::{Command, Form, Param, parse_line};

/// Which ATRUN service a row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Tcp,
    Sms,
}

/// A row of the suggested-delay table (spec ../shared/spec/telit.md §B.18): commands that take
/// long enough that `#ATRUNDELAY` should be at least `delay_s` seconds.
#[derive(Debug)]
pub(crate) struct SuggestedDelay {
    pub service: Service,
    pub commands: &'static [&'static str],
    pub delay_s: u32,
}

/// The three rows of spec §B.18 (T9 of §B.19 repeats the TCP row).
pub(crate) static SUGGESTED_DELAYS: &[SuggestedDelay] = &[
    SuggestedDelay {
        service: Service::Sms,
        commands: &[
            "+COPS=?", "+CGCLASS", "+CFUN", "#GPRS", "#SIMDET", "#CSURV", "#CSURVC", "#CSURVU",
            "#CSURVUC", "#CSURVB", "#CSURVBC", "#CSURVP", "#CSURVPC",
        ],
        delay_s: 10,
    },
    SuggestedDelay {
        service: Service::Sms,
        commands: &["#SGACT", "+CGACT", "+CGATT"],
        delay_s: 5,
    },
    SuggestedDelay {
        service: Service::Tcp,
        commands: &["+COPS=?"],
        delay_s: 10,
    },
];

/// A condition a TCP ATRUN command needs to work (spec §B.19 T1-T4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Requirement {
    /// `#TCPATRUNCFG` `<connId>` ≠ `<instance>`.
    ConnIdNotInstance,
    /// `#TCPATRUNCFG` `<instance>` = 1.
    InstanceOne,
    /// The TCP ATRUN socket is bound (`#SCFG`) to a cid other than 1.
    SocketCidNotOne,
    /// `#TCPATRUNCFG` `<connId>` ≠ 1.
    ConnIdNotOne,
}

/// What a command does to an ATRUN service, one variant per distinct documented effect
/// (spec §B.19). Rows overlap: several may hit one command; `NoReply` combines with a block,
/// and among blocks the strongest wins ([`Effect::block_strength`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// S1, S2: the command runs, but the module powers down or deregisters before the reply.
    NoReply,
    /// S3: SMS exchange blocked until the `#SMSATRUNCFG` timeout reboots the module.
    BlockedUntilTimeoutReboot,
    /// S4, T6: the service is blocked for good.
    BlockedIrreversibly,
    /// S5, S6: SMS exchange blocked until one of `unblocked_by` is sent through TCP ATRUN.
    BlockedUntilRunViaTcp {
        unblocked_by: &'static [&'static str],
    },
    /// S7: blocked until FDN is disabled through TCP ATRUN (FDN is not emulated; kept as data).
    BlockedUntilFdnOff,
    /// S8: the reply (`CONNECT`/`NO CARRIER`) only comes after the called party hangs up.
    ReplyAfterHangUp,
    /// S9: needs a `>` prompt, which SMS ATRUN never delivers.
    NeedsPrompt,
    /// S10: the reply is cut to 15 concatenated SMS.
    TruncatedTo15Sms,
    /// S11, T8: `ERROR` while a data call is up (T8 also on the GSM context).
    ErrorIfDataCall,
    /// T1-T4: works only when all of `all` hold, per the `#TCPATRUNCFG`/`#SCFG` settings.
    Requires { all: &'static [Requirement] },
    /// T5: when `<connId>` = `<instance>`, it changes the TCP ATRUN socket itself.
    ChangesServiceSocketIfConnIdIsInstance,
    /// T7: the output is buffered during the scan and may be truncated.
    BufferedMayBeTruncated,
    /// T9: slow; `#ATRUNDELAY` should be at least `delay_s` (same as the §B.18 TCP row).
    SuggestedDelay { delay_s: u32 },
}

impl Effect {
    /// How hard the effect blocks the service, `None` when it does not block: irreversible 4,
    /// until a TCP ATRUN command 3, until FDN is off 2, until the timeout reboot 1. When one
    /// line hits several blocks, the highest applies (S4 "irreversible" beats S6's "until a
    /// new +CFUN via TCP ATRUN" for `+CFUN=4`, spec §B.19 note).
    pub(crate) fn block_strength(&self) -> Option<u8> {
        match self {
            Effect::BlockedIrreversibly => Some(4),
            Effect::BlockedUntilRunViaTcp { .. } => Some(3),
            Effect::BlockedUntilFdnOff => Some(2),
            Effect::BlockedUntilTimeoutReboot => Some(1),
            _ => None,
        }
    }
}

/// A row of spec §B.19, kept as the application note lists it.
#[derive(Debug)]
pub(crate) struct BlockRule {
    /// `"S1"`..`"S11"` (SMS ATRUN), `"T1"`..`"T9"` (TCP ATRUN).
    pub id: &'static str,
    pub service: Service,
    pub commands: &'static [&'static str],
    pub effect: Effect,
    pub note: &'static str,
}

const SMS: Service = Service::Sms;
const TCP: Service = Service::Tcp;

/// Spec §B.19, both tables, rows exactly as listed (overlaps included: `+CFUN=4` is in S2,
/// S4 and S6; `+COPS=2` in S2 and S6; `+CGCLASS="CG"` in S2 and S5).
pub(crate) static BLOCK_RULES: &[BlockRule] = &[
    BlockRule {
        id: "S1",
        service: SMS,
        commands: &["#REBOOT", "#SHDN"],
        effect: Effect::NoReply,
        note: "no reply SMS: the module powers down first",
    },
    BlockRule {
        id: "S2",
        service: SMS,
        commands: &["+CFUN=4", "+CGCLASS=\"CG\"", "+COPS=2"],
        effect: Effect::NoReply,
        note: "no reply SMS: the module deregisters first",
    },
    BlockRule {
        id: "S3",
        service: SMS,
        commands: &[
            "#SIMDET=0",
            "+CGDATA=\"PPP\",1",
            "#FTPPUT",
            "$GPSNMUN=3",
            "Q1",
            "Q2",
        ],
        effect: Effect::BlockedUntilTimeoutReboot,
        note: "SMS exchange blocked until the #SMSATRUNCFG timeout reboots the module",
    },
    BlockRule {
        id: "S4",
        service: SMS,
        commands: &["+CMUX=0", "#BND=3", "+CFUN=2", "+CFUN=4"],
        effect: Effect::BlockedIrreversibly,
        note: "SMS exchange blocked irreversibly (for +CFUN=4 the app note's note 5 says \
               recoverable via TCP ATRUN, as S6)",
    },
    BlockRule {
        id: "S5",
        service: SMS,
        commands: &["+CGCLASS=\"CG\"", "+CGSMS=0"],
        effect: Effect::BlockedUntilRunViaTcp {
            unblocked_by: &["+CGCLASS", "+CGSMS"],
        },
        note: "SMS exchange blocked until a new +CGCLASS/+CGSMS is sent via TCP ATRUN",
    },
    BlockRule {
        id: "S6",
        service: SMS,
        commands: &["+CFUN=4", "+COPS=2"],
        effect: Effect::BlockedUntilRunViaTcp {
            unblocked_by: &["+CFUN", "+COPS"],
        },
        note: "SMS exchange blocked until a new +CFUN/+COPS is sent via TCP ATRUN",
    },
    BlockRule {
        id: "S7",
        service: SMS,
        commands: &["+CLCK=\"FD\",1"],
        effect: Effect::BlockedUntilFdnOff,
        note: "enabling FDN when the sender is not in FDN blocks until FDN is disabled via \
               TCP ATRUN (FDN is not emulated)",
    },
    BlockRule {
        id: "S8",
        service: SMS,
        commands: &["D"],
        effect: Effect::ReplyAfterHangUp,
        note: "data call: the reply (CONNECT/NO CARRIER) comes only after the called party \
               hangs up; the pattern matches every dial, a voice dial (ending ';') included",
    },
    BlockRule {
        id: "S9",
        service: SMS,
        commands: &["+CMGS", "+CMGW", "#SEMAIL", "#SSEND", "#WSCRIPT"],
        effect: Effect::NeedsPrompt,
        note: "prompt commands cannot be executed (the app note's list ends with '…')",
    },
    BlockRule {
        id: "S10",
        service: SMS,
        commands: &["#CSURV*"],
        effect: Effect::TruncatedTo15Sms,
        note: "reply truncated to 15 concatenated SMS",
    },
    BlockRule {
        id: "S11",
        service: SMS,
        commands: &["Z"],
        effect: Effect::ErrorIfDataCall,
        note: "ERROR if a data call is up",
    },
    BlockRule {
        id: "T1",
        service: TCP,
        commands: &["#SKTD", "#SKTL", "#SKTSAV"],
        effect: Effect::Requires {
            all: &[Requirement::ConnIdNotInstance],
        },
        note: "only usable if TCPATRUN <connId> != <instance>",
    },
    BlockRule {
        id: "T2",
        service: TCP,
        commands: &["#QDNS"],
        effect: Effect::Requires {
            all: &[Requirement::InstanceOne, Requirement::SocketCidNotOne],
        },
        note: "requires TCPATRUN <instance>=1 and the TCPATRUN socket bound to a cid != 1",
    },
    BlockRule {
        id: "T3",
        service: TCP,
        commands: &["#GPRS"],
        effect: Effect::Requires {
            all: &[Requirement::SocketCidNotOne],
        },
        note: "requires the TCPATRUN socket bound to a cid != 1",
    },
    BlockRule {
        id: "T4",
        service: TCP,
        commands: &["#SKTOP"],
        effect: Effect::Requires {
            all: &[
                Requirement::InstanceOne,
                Requirement::SocketCidNotOne,
                Requirement::ConnIdNotOne,
            ],
        },
        note: "as T2, plus TCPATRUN <connId> != 1",
    },
    BlockRule {
        id: "T5",
        service: TCP,
        commands: &["#PKTSZ", "#SKTTO", "#DSTO"],
        effect: Effect::ChangesServiceSocketIfConnIdIsInstance,
        note: "if <connId> = <instance> they modify the TCPATRUN socket itself",
    },
    BlockRule {
        id: "T6",
        service: TCP,
        commands: &[
            "+CGATT=0",
            "+CGACT=0",
            "+CGCLASS=\"CC\"",
            "#SHDN",
            "#BND=2",
            "#BND=3",
            "Q1",
            "Q2",
            "#SIMDET=0",
            "+CFUN=2",
            "+CFUN=4",
        ],
        effect: Effect::BlockedIrreversibly,
        note: "irreversible block of TCP ATRUN",
    },
    BlockRule {
        id: "T7",
        service: TCP,
        commands: &["#CSURV*"],
        effect: Effect::BufferedMayBeTruncated,
        note: "output buffered during the scan, may be truncated (deprecated)",
    },
    BlockRule {
        id: "T8",
        service: TCP,
        commands: &["Z"],
        effect: Effect::ErrorIfDataCall,
        note: "ERROR if a data call is up on another instance, or if TCPATRUN runs on the GSM \
               context (#SGACT=0,1)",
    },
    BlockRule {
        id: "T9",
        service: TCP,
        commands: &["+COPS=?"],
        effect: Effect::SuggestedDelay { delay_s: 10 },
        note: "suggested delay 10 s",
    },
];

/// Two parameters are the same value: equal text ignoring letter case and quoting, or equal
/// numbers (`04` is `4`).
fn same_value(wanted: &Param, given: &Param) -> bool {
    if wanted.text.eq_ignore_ascii_case(&given.text) {
        return true;
    }
    match (wanted.text.parse::<u32>(), given.text.parse::<u32>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Whether one parsed command matches a table pattern:
/// * `"#CSURV*"`: a family, every command whose name starts with `#CSURV`;
/// * a pattern without parameters (`"#REBOOT"`, `"+CFUN"`, `"Z"`, `"D"`): every form of that
///   name except the test form `=?`, which only lists ranges and never has the documented
///   effect (so `AT#REBOOT=?` is not S1) — this applies to families too;
/// * `"+COPS=?"`, `"+CREG?"`: exactly that form;
/// * a set pattern (`"+CFUN=4"`, `"+CGDATA=\"PPP\",1"`): the command's leading parameters equal
///   the pattern's, ignoring case and quoting, numbers by value; the command may have more
///   (`+CFUN=4,1` is still mode 4, `+CLCK="FD",1,"pin"` still enables FDN);
/// * a basic pattern with a number (`"Q1"`): that value, a missing number reading as 0.
///
/// A pattern the parser does not read as exactly one command matches nothing.
pub(crate) fn matches(pattern: &str, command: &Command) -> bool {
    if let Some(family) = pattern.strip_suffix('*') {
        return command.form != Form::Test
            && command.name.starts_with(&family.to_ascii_uppercase());
    }
    let parsed = parse_line(pattern.as_bytes());
    let ([wanted], None) = (parsed.commands.as_slice(), &parsed.error) else {
        return false;
    };
    if wanted.name != command.name {
        return false;
    }
    match (&wanted.form, &command.form) {
        (Form::Action | Form::Basic(None), given) => *given != Form::Test,
        (Form::Dial(number), _) if number.is_empty() => true,
        (Form::Set(wanted), Form::Set(given)) => {
            wanted.len() <= given.len()
                && wanted
                    .iter()
                    .zip(given)
                    .all(|(wanted, given)| same_value(wanted, given))
        }
        (Form::Basic(Some(wanted)), Form::Basic(given)) => *wanted == given.unwrap_or(0),
        (wanted, given) => wanted == given,
    }
}

/// The commands of a command line as the reserved instance gets it: an `AT` prefix (any case)
/// is dropped if there, trailing CR/LF and spaces are ignored. After a syntax error the
/// commands before it still count (they still run).
fn commands_of(line: &[u8]) -> Vec<Command> {
    let line = line.trim_ascii_end();
    let body = match line.get(..2) {
        Some(prefix) if prefix.eq_ignore_ascii_case(b"AT") => line.get(2..).unwrap_or_default(),
        _ => line,
    };
    parse_line(body).commands
}

/// Every rule of `service` that a command of `line` matches, in table order, each once
/// (`"AT+CFUN=4;+COPS?"` gives S2, S4 and S6 for SMS, T6 for TCP). Overlapping rows are all
/// returned: the caller applies `NoReply` alongside a block and the strongest block
/// ([`Effect::block_strength`]).
pub(crate) fn rules_for(service: Service, line: &[u8]) -> Vec<&'static BlockRule> {
    let commands = commands_of(line);
    BLOCK_RULES
        .iter()
        .filter(|rule| rule.service == service)
        .filter(|rule| {
            commands.iter().any(|command| {
                rule.commands
                    .iter()
                    .any(|pattern| matches(pattern, command))
            })
        })
        .collect()
}

/// The largest suggested `#ATRUNDELAY` (seconds, spec §B.18) over the commands of `line`, or
/// `None` when no row lists any of them.
pub(crate) fn suggested_delay(service: Service, line: &[u8]) -> Option<u32> {
    let commands = commands_of(line);
    SUGGESTED_DELAYS
        .iter()
        .filter(|row| row.service == service)
        .filter(|row| {
            commands
                .iter()
                .any(|command| row.commands.iter().any(|pattern| matches(pattern, command)))
        })
        .map(|row| row.delay_s)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(text: &str) -> Command {
        let parsed = parse_line(text.as_bytes());
        assert_eq!(parsed.error, None, "{text}");
        let [command] = parsed.commands.as_slice() else {
            panic!("{text} is not one command")
        };
        command.clone()
    }

    fn ids(service: Service, line: &str) -> Vec<&'static str> {
        rules_for(service, line.as_bytes())
            .iter()
            .map(|rule| rule.id)
            .collect()
    }

    fn rule(id: &str) -> &'static BlockRule {
        BLOCK_RULES
            .iter()
            .find(|rule| rule.id == id)
            .unwrap_or_else(|| panic!("no rule {id}"))
    }

    #[test]
    fn every_pattern_reads_as_one_command() {
        let patterns = BLOCK_RULES
            .iter()
            .flat_map(|rule| rule.commands)
            .chain(SUGGESTED_DELAYS.iter().flat_map(|row| row.commands))
            .chain(BLOCK_RULES.iter().flat_map(|rule| match rule.effect {
                Effect::BlockedUntilRunViaTcp { unblocked_by } => unblocked_by,
                _ => &[],
            }));
        for pattern in patterns {
            let text = pattern.strip_suffix('*').unwrap_or(pattern);
            let c = command(text);
            assert!(matches(pattern, &c) || c.form == Form::Test, "{pattern}");
        }
    }

    #[test]
    fn rule_ids_are_the_tables_rows() {
        let ids: Vec<&str> = BLOCK_RULES.iter().map(|rule| rule.id).collect();
        assert_eq!(
            ids,
            [
                "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "S11", "T1", "T2",
                "T3", "T4", "T5", "T6", "T7", "T8", "T9"
            ]
        );
        for rule in BLOCK_RULES {
            let service = if rule.id.starts_with('S') { SMS } else { TCP };
            assert_eq!(rule.service, service, "{}", rule.id);
            assert!(!rule.note.is_empty());
        }
    }

    #[test]
    fn patterns_without_parameters_match_every_form_but_test() {
        assert!(matches("+CFUN", &command("+CFUN=1")));
        assert!(matches("+CFUN", &command("+CFUN?")));
        assert!(matches("+CFUN", &command("+CFUN")));
        assert!(!matches("+CFUN", &command("+CFUN=?")));
        assert!(!matches("+CFUN", &command("+CFUNX")));
        assert!(matches("Z", &command("Z")));
        assert!(matches("Z", &command("Z0")));
        assert!(matches("Z", &command("Z1")));
        assert!(matches("D", &command("D*99#")));
        assert!(matches("D", &command("D123;")));
        assert!(matches("D", &command("D")));
    }

    #[test]
    fn exact_forms_match_only_themselves() {
        assert!(matches("+COPS=?", &command("+COPS=?")));
        assert!(!matches("+COPS=?", &command("+COPS?")));
        assert!(!matches("+COPS=?", &command("+COPS")));
        assert!(!matches("+COPS=?", &command("+COPS=0")));
        assert!(matches("+CREG?", &command("+creg?")));
        assert!(!matches("+CREG?", &command("+CREG=?")));
    }

    #[test]
    fn set_patterns_compare_leading_parameters() {
        assert!(matches("+CFUN=4", &command("+CFUN=4")));
        assert!(matches("+CFUN=4", &command("+CFUN=04")));
        assert!(matches("+CFUN=4", &command("+CFUN=4,1")));
        assert!(matches("+CFUN=4", &command("+CFUN=\"4\"")));
        assert!(!matches("+CFUN=4", &command("+CFUN=1")));
        assert!(!matches("+CFUN=4", &command("+CFUN=,4")));
        assert!(!matches("+CFUN=4", &command("+CFUN=")));
        assert!(!matches("+CFUN=4", &command("+CFUN?")));
        assert!(!matches("+CFUN=4", &command("+CFUN")));
        assert!(matches("+CGCLASS=\"CG\"", &command("+CGCLASS=\"cg\"")));
        assert!(matches("+CGCLASS=\"CG\"", &command("+CGCLASS=CG")));
        assert!(!matches("+CGCLASS=\"CG\"", &command("+CGCLASS=\"B\"")));
        assert!(matches("+CGDATA=\"PPP\",1", &command("+CGDATA=\"ppp\",1")));
        assert!(!matches("+CGDATA=\"PPP\",1", &command("+CGDATA=\"PPP\"")));
        assert!(!matches("+CGDATA=\"PPP\",1", &command("+CGDATA=\"PPP\",2")));
    }

    #[test]
    fn basic_patterns_compare_the_number() {
        assert!(matches("Q1", &command("Q1")));
        assert!(!matches("Q1", &command("Q")));
        assert!(!matches("Q1", &command("Q0")));
        assert!(matches("Q0", &command("Q")));
        assert!(!matches("Q1", &command("E1")));
    }

    #[test]
    fn families_match_by_name_prefix() {
        for name in ["#CSURV", "#CSURVC", "#CSURVUC", "#CSURVPC", "#CSURVF"] {
            assert!(matches("#CSURV*", &command(name)), "{name}");
        }
        assert!(matches("#CSURV*", &command("#CSURV=900,905")));
        assert!(matches("#csurv*", &command("#CSURVC")));
        assert!(!matches("#CSURV*", &command("#CSURV=?")));
        assert!(!matches("#CSURV*", &command("#CSUR")));
        assert!(!matches("#CSURV*", &command("+CSURV")));
    }

    #[test]
    fn broken_patterns_match_nothing() {
        let c = command("+CFUN=4");
        assert!(!matches("", &c));
        assert!(!matches("+CFUN=4;+COPS=2", &c));
        assert!(!matches("+CFUN=\"4", &c));
    }

    /// Each row: lines that hit it (every listed command) and near misses.
    #[test]
    fn each_row_matches_its_commands_and_not_a_near_miss() {
        let rows: &[(&str, &[&str], &[&str])] = &[
            (
                "S1",
                &["AT#REBOOT", "AT#SHDN"],
                &["AT#REBOOT=?", "AT#SHDN=?", "AT#REBOOTX"],
            ),
            (
                "S2",
                &["AT+CFUN=4", "AT+CGCLASS=\"CG\"", "AT+COPS=2"],
                &["AT+CFUN=1", "AT+CGCLASS=\"B\"", "AT+COPS=0", "AT+COPS?"],
            ),
            (
                "S3",
                &[
                    "AT#SIMDET=0",
                    "AT+CGDATA=\"PPP\",1",
                    "AT#FTPPUT",
                    "AT#FTPPUT=\"file.txt\"",
                    "AT$GPSNMUN=3",
                    "ATQ1",
                    "ATQ2",
                ],
                &[
                    "AT#SIMDET=1",
                    "AT+CGDATA=\"PPP\",2",
                    "AT#FTPPUT=?",
                    "AT$GPSNMUN=1",
                    "ATQ0",
                    "ATQ",
                ],
            ),
            (
                "S4",
                &["AT+CMUX=0", "AT#BND=3", "AT+CFUN=2", "AT+CFUN=4"],
                &["AT+CFUN=1", "AT+CMUX=?", "AT#BND=2", "AT+CFUN=0"],
            ),
            (
                "S5",
                &["AT+CGCLASS=\"CG\"", "AT+CGSMS=0"],
                &["AT+CGCLASS=\"CC\"", "AT+CGSMS=1", "AT+CGSMS?"],
            ),
            (
                "S6",
                &["AT+CFUN=4", "AT+COPS=2"],
                &["AT+CFUN=2", "AT+COPS=1,2"],
            ),
            (
                "S7",
                &["AT+CLCK=\"FD\",1", "AT+CLCK=\"FD\",1,\"1234\""],
                &["AT+CLCK=\"FD\",0,\"1234\"", "AT+CLCK=\"SC\",1,\"1234\""],
            ),
            ("S8", &["ATD*99#", "ATD0612345678"], &["ATA", "ATH"]),
            (
                "S9",
                &[
                    "AT+CMGS=\"+393491234567\"",
                    "AT+CMGS=20",
                    "AT+CMGW",
                    "AT#SEMAIL=\"a@b.c\",\"s\"",
                    "AT#SSEND=1",
                    "AT#WSCRIPT=\"a.py\",100",
                ],
                &["AT+CMGS=?", "AT+CMGR=1", "AT#SSENDEXT=1,10"],
            ),
            (
                "S10",
                &[
                    "AT#CSURV",
                    "AT#CSURVC",
                    "AT#CSURVU=900,905",
                    "AT#CSURVBC",
                    "AT#CSURVPC",
                ],
                &["AT#CSURV=?", "AT+COPS=?"],
            ),
            ("S11", &["ATZ", "ATZ0"], &["AT&F", "AT+CFUN=1,1"]),
            (
                "T1",
                &["AT#SKTD=0,80,\"host\"", "AT#SKTL=1,0,1024", "AT#SKTSAV=0"],
                &["AT#SKTOP", "AT#SKTD=?"],
            ),
            (
                "T2",
                &["AT#QDNS=\"example.com\""],
                &["AT#QDNS=?", "AT#NSLOOKUP=\"x\""],
            ),
            (
                "T3",
                &["AT#GPRS=1", "AT#GPRS?"],
                &["AT#GPRS=?", "AT#SGACT=1,1"],
            ),
            ("T4", &["AT#SKTOP"], &["AT#SKTOP=?", "AT#SKTD"]),
            (
                "T5",
                &["AT#PKTSZ=300", "AT#SKTTO=90", "AT#DSTO=50"],
                &["AT#PKTSZ=?", "AT#SCFG=1,1,300,90,600,50"],
            ),
            (
                "T6",
                &[
                    "AT+CGATT=0",
                    "AT+CGACT=0",
                    "AT+CGACT=0,1",
                    "AT+CGCLASS=\"CC\"",
                    "AT#SHDN",
                    "AT#BND=2",
                    "AT#BND=3",
                    "ATQ1",
                    "ATQ2",
                    "AT#SIMDET=0",
                    "AT+CFUN=2",
                    "AT+CFUN=4",
                ],
                &[
                    "AT+CGATT=1",
                    "AT+CGACT=1,1",
                    "AT+CGCLASS=\"CG\"",
                    "AT#BND=1",
                    "ATQ0",
                    "AT+CFUN=1",
                ],
            ),
            ("T7", &["AT#CSURV", "AT#CSURVC"], &["AT#CSURV=?"]),
            ("T8", &["ATZ"], &["AT&F"]),
            ("T9", &["AT+COPS=?"], &["AT+COPS?", "AT+COPS=0"]),
        ];
        assert_eq!(rows.len(), BLOCK_RULES.len());
        for (id, hits, misses) in rows {
            let rule = rule(id);
            for line in *hits {
                assert!(ids(rule.service, line).contains(id), "{id} misses {line}");
            }
            for line in *misses {
                assert!(!ids(rule.service, line).contains(id), "{id} hits {line}");
            }
        }
    }

    #[test]
    fn a_line_collects_every_rule_of_its_commands() {
        assert_eq!(ids(SMS, "AT+CFUN=4;+COPS?"), ["S2", "S4", "S6"]);
        assert_eq!(ids(TCP, "AT+CFUN=4;+COPS?"), ["T6"]);
        assert_eq!(ids(SMS, "AT#CSURVC;#REBOOT"), ["S1", "S10"]);
        assert_eq!(ids(SMS, "AT+CGCLASS=\"CG\""), ["S2", "S5"]);
        assert_eq!(ids(SMS, "ATQ1"), ["S3"]);
        assert_eq!(ids(TCP, "ATQ1"), ["T6"]);
    }

    #[test]
    fn lines_are_read_with_or_without_prefix_in_any_case() {
        assert_eq!(ids(SMS, "at+cfun=4"), ["S2", "S4", "S6"]);
        assert_eq!(ids(SMS, "+CFUN=4"), ["S2", "S4", "S6"]);
        assert_eq!(ids(SMS, "AT+CFUN=4\r"), ["S2", "S4", "S6"]);
        assert_eq!(ids(SMS, "AT+CFUN=4\r\n"), ["S2", "S4", "S6"]);
        assert!(ids(SMS, "AT").is_empty());
        assert!(ids(SMS, "").is_empty());
        assert!(ids(SMS, "AT+CSQ;+CREG?").is_empty());
        // Commands before a syntax error still count; the error stops the rest.
        assert_eq!(ids(SMS, "AT#SHDN;;+CFUN=4"), ["S1"]);
    }

    #[test]
    fn the_strongest_block_wins() {
        let strongest = |line: &str| {
            rules_for(SMS, line.as_bytes())
                .into_iter()
                .filter_map(|rule| rule.effect.block_strength().map(|s| (s, rule.id)))
                .max()
                .map(|(_, id)| id)
        };
        assert_eq!(strongest("AT+CFUN=4"), Some("S4"));
        assert_eq!(strongest("AT+COPS=2"), Some("S6"));
        assert_eq!(strongest("AT+CGCLASS=\"CG\";#SIMDET=0"), Some("S5"));
        assert_eq!(strongest("AT#SIMDET=0"), Some("S3"));
        assert_eq!(strongest("AT+CLCK=\"FD\",1,\"0000\""), Some("S7"));
        assert_eq!(strongest("AT#REBOOT"), None);
        assert_eq!(Effect::NoReply.block_strength(), None);
    }

    #[test]
    fn unblocking_commands_are_listed_by_name() {
        let Effect::BlockedUntilRunViaTcp { unblocked_by } = rule("S6").effect else {
            panic!("S6 is not a TCP-lifted block")
        };
        assert!(unblocked_by.iter().any(|p| matches(p, &command("+CFUN=1"))));
        assert!(unblocked_by.iter().any(|p| matches(p, &command("+COPS=0"))));
        assert!(
            !unblocked_by
                .iter()
                .any(|p| matches(p, &command("+CGSMS=1")))
        );
    }

    #[test]
    fn suggested_delays_follow_b18() {
        let delay = |service, line: &str| suggested_delay(service, line.as_bytes());
        assert_eq!(delay(SMS, "AT+COPS=?"), Some(10));
        assert_eq!(delay(TCP, "AT+COPS=?"), Some(10));
        assert_eq!(delay(SMS, "AT+COPS?"), None);
        assert_eq!(delay(SMS, "AT+COPS=0"), None);
        assert_eq!(delay(SMS, "AT+CGCLASS=\"B\""), Some(10));
        assert_eq!(delay(SMS, "AT+CFUN=1"), Some(10));
        assert_eq!(delay(SMS, "AT#GPRS=1"), Some(10));
        assert_eq!(delay(SMS, "AT#SIMDET=2"), Some(10));
        for name in [
            "#CSURV", "#CSURVC", "#CSURVU", "#CSURVUC", "#CSURVB", "#CSURVBC", "#CSURVP",
            "#CSURVPC",
        ] {
            assert_eq!(delay(SMS, &format!("AT{name}")), Some(10), "{name}");
            assert_eq!(delay(TCP, &format!("AT{name}")), None, "{name}");
        }
        assert_eq!(delay(SMS, "AT#CSURVF=1"), None);
        assert_eq!(delay(SMS, "AT#SGACT=1,1"), Some(5));
        assert_eq!(delay(SMS, "AT+CGACT=1,1"), Some(5));
        assert_eq!(delay(SMS, "AT+CGATT=1"), Some(5));
        assert_eq!(delay(TCP, "AT#SGACT=1,1"), None);
        assert_eq!(delay(SMS, "AT#SGACT=1,1;+CFUN=1"), Some(10));
        assert_eq!(delay(SMS, "AT+CSQ"), None);
        assert_eq!(delay(SMS, "AT#CSURV=?"), None);
    }

    #[test]
    fn t9_repeats_the_tcp_delay_row() {
        let Effect::SuggestedDelay { delay_s } = rule("T9").effect else {
            panic!("T9 is not a delay")
        };
        assert_eq!(suggested_delay(TCP, b"AT+COPS=?"), Some(delay_s));
    }
}
