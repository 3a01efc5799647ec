//! Telit Easy Script file commands (`#WSCRIPT`, `#RSCRIPT`, `#LSCRIPT`, `#LCSCRIPT`, `#DSCRIPT`,
//! `#ESCRIPT`, `#STARTMODESCR`, `#EXECSCR`), `#GPIO` and `#SMSMODE` (telit.md §C.1, §D.5).

use super::{CmdError, CmdResult, Done, at_most, int_param, required_int, str_param};
use crate::at::{Command, Form};
use crate::modem::Modem;
use crate::modem::scripts::{GpioDirection, ScriptUpload, crc16_ccitt};

/// A script file name parameter: 1..=16 characters ([DOC] §3.5.7.11), quoted or not (the
/// [OBS] capture `at#wscript=ciclo2.py,268` is unquoted), any extension.
fn script_name(modem: &mut Modem, command: &Command, index: usize) -> Result<String, CmdError> {
    let Some(name) = str_param(command, index) else {
        modem.explain("a script name is required");
        return Err(CmdError::InvalidParameter);
    };
    let max = modem.profile().telit_module.script_name_max_chars;
    if name.is_empty() || name.chars().count() > max {
        modem.explain(format!(
            "script name \"{name}\" must have 1 to {max} characters"
        ));
        return Err(CmdError::InvalidParameter);
    }
    Ok(name.to_string())
}

/// The index of stored file `name`, or the error a missing file gives ([DOC]: "an error code
/// is reported"; [INFERRED] the profile's invalid-parameter error).
fn stored_file(modem: &mut Modem, name: &str) -> Result<usize, CmdError> {
    match modem.script_files().iter().position(|f| f.name == name) {
        Some(index) => Ok(index),
        None => {
            modem.explain(format!("no script \"{name}\" is stored"));
            Err(CmdError::InvalidParameter)
        }
    }
}

/// `=?` answers just `OK`; the forms in `allowed` go on; any other fails.
fn test_ok_or(command: &Command, allowed: &[&str]) -> Result<bool, CmdError> {
    let form = match command.form {
        Form::Test => return Ok(true),
        Form::Action => "action",
        Form::Read => "read",
        Form::Set(_) => "set",
        _ => "",
    };
    if allowed.contains(&form) {
        Ok(false)
    } else {
        Err(CmdError::UnsupportedForm)
    }
}

/// `AT#WSCRIPT=<script_name>,<size>[,<hidden>]`: `\r\n>>>`, then exactly `<size>` raw bytes;
/// `OK` once all came, `ERROR` after 30 s without a byte. The same name is replaced.
pub fn wscript(modem: &mut Modem, command: &Command) -> CmdResult {
    if test_ok_or(command, &["set"])? {
        return Ok(Done::Ok);
    }
    at_most(command, 3)?;
    let name = script_name(modem, command, 0)?;
    let size = required_int(command, 1, 1, u32::MAX)? as usize;
    let hidden = int_param(command, 2, 0, 1)? == Some(1);
    // [INFERRED] the file being replaced gives its room back.
    let replaced = modem
        .script_files()
        .iter()
        .find(|f| f.name == name)
        .map_or(0, |f| f.content.len());
    let room = modem.script_free_bytes() + replaced;
    if size > room {
        modem.explain(format!(
            "script \"{name}\" of {size} bytes does not fit: {room} bytes free"
        ));
        return Err(CmdError::InvalidParameter);
    }
    modem.start_script_upload(ScriptUpload { name, hidden }, size);
    Ok(Done::Stop(None))
}

/// `AT#RSCRIPT=<script_name>`: `\r\n<<<` and the file's bytes as stored (none when hidden),
/// then the final result.
pub fn rscript(modem: &mut Modem, command: &Command) -> CmdResult {
    if test_ok_or(command, &["set"])? {
        return Ok(Done::Ok);
    }
    at_most(command, 1)?;
    let name = script_name(modem, command, 0)?;
    let index = stored_file(modem, &name)?;
    let file = &modem.script_files()[index];
    let mut out = b"\r\n<<<".to_vec();
    let hidden = file.hidden;
    if !hidden {
        out.extend_from_slice(&file.content);
    }
    modem.explain(if hidden {
        format!("script \"{name}\" is hidden: shown empty")
    } else {
        format!("script \"{name}\": {} bytes", out.len() - 5)
    });
    modem.write_dte(&out);
    Ok(Done::Ok)
}

/// `#LSCRIPT: "<name>",<size>` per file, `#LSCRIPT: free bytes: <n>`.
pub fn lscript(modem: &mut Modem, command: &Command) -> CmdResult {
    if test_ok_or(command, &["action"])? {
        return Ok(Done::Ok);
    }
    list(modem, "#LSCRIPT", false);
    Ok(Done::Ok)
}

/// `AT#LCSCRIPT`: `#LSCRIPT`'s list with each file's CRC16 (`#LCSCRIPT: "<name>",<size>,<crc>`);
/// `AT#LCSCRIPT=<name>`: that file's line alone. simodem runs no script, so no file is "in use"
/// and every line has its CRC.
pub fn lcscript(modem: &mut Modem, command: &Command) -> CmdResult {
    if test_ok_or(command, &["action", "set"])? {
        return Ok(Done::Ok);
    }
    if let Form::Set(_) = command.form {
        at_most(command, 1)?;
        let name = script_name(modem, command, 0)?;
        let index = stored_file(modem, &name)?;
        let line = file_line(modem, "#LCSCRIPT", index, true);
        modem.info.push(line);
        return Ok(Done::Ok);
    }
    list(modem, "#LCSCRIPT", true);
    Ok(Done::Ok)
}

/// `<prefix>: "<name>",<size>[,<crc>]` for file `index`; the CRC in 4 upper-case hex digits
/// as the doc's examples (`8FD6`) print it.
fn file_line(modem: &Modem, prefix: &str, index: usize, crc: bool) -> String {
    let file = &modem.script_files()[index];
    let mut line = format!("{prefix}: \"{}\",{}", file.name, file.content.len());
    if crc {
        line.push_str(&format!(",{:04X}", crc16_ccitt(&file.content)));
    }
    line
}

fn list(modem: &mut Modem, prefix: &str, crc: bool) {
    let lines: Vec<String> = (0..modem.script_files().len())
        .map(|index| file_line(modem, prefix, index, crc))
        .collect();
    modem.info.extend(lines);
    let free = modem.script_free_bytes();
    modem.info.push(format!("{prefix}: free bytes: {free}"));
}

/// `AT#DSCRIPT=<script_name>`: deletes the file (a missing one is an error). `#ESCRIPT` keeps
/// its name, as it never checks.
pub fn dscript(modem: &mut Modem, command: &Command) -> CmdResult {
    if test_ok_or(command, &["set"])? {
        return Ok(Done::Ok);
    }
    at_most(command, 1)?;
    let name = script_name(modem, command, 0)?;
    let index = stored_file(modem, &name)?;
    modem.scripts_mut().files.remove(index);
    modem.explain(format!("script \"{name}\" deleted"));
    modem.save_nvm();
    Ok(Done::Ok)
}

/// `AT#ESCRIPT=[<script_name>]` selects the start-up script without checking it exists
/// (empty: none); `AT#ESCRIPT?` → `#ESCRIPT: "<name>"`.
pub fn escript(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => Ok(Done::Ok),
        Form::Read => {
            let (active, _, _) = modem.script_settings();
            modem.info.push(format!("#ESCRIPT: \"{active}\""));
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            let name = match str_param(command, 0) {
                None | Some("") => String::new(),
                Some(_) => script_name(modem, command, 0)?,
            };
            if !name.is_empty() && !modem.script_files().iter().any(|f| f.name == name) {
                modem.explain(format!(
                    "#ESCRIPT=\"{name}\": no such file yet; it is not checked (it must exist at start-up)"
                ));
            }
            modem.scripts_mut().active = name;
            modem.save_nvm();
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT#STARTMODESCR=<mode>[,<to>]`: mode 0..2, time-out 10..60 s (unchanged when omitted);
/// read `#STARTMODESCR: <mode>,<to>` (telit.md §D.5; the reference's `#STARTMODESCR=` is a
/// typo like its other prefixes), test `#STARTMODESCR: (0-2),(10-60)` ([DOC]).
pub fn startmodescr(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem.info.push("#STARTMODESCR: (0-2),(10-60)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let (_, mode, timeout) = modem.script_settings();
            modem.info.push(format!("#STARTMODESCR: {mode},{timeout}"));
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 2)?;
            let mode = required_int(command, 0, 0, 2)?;
            let timeout = int_param(command, 1, 10, 60)?;
            let scripts = modem.scripts_mut();
            scripts.start_mode = mode;
            if let Some(timeout) = timeout {
                scripts.start_timeout_s = timeout;
            }
            modem.save_nvm();
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}

/// `AT#EXECSCR` would start the selected script now: simodem keeps scripts but has no Telit
/// Python interpreter, so it answers an error and says why.
pub fn execscr(modem: &mut Modem, command: &Command) -> CmdResult {
    if test_ok_or(command, &["action"])? {
        return Ok(Done::Ok);
    }
    let (active, _, _) = modem.script_settings();
    let what = if active.is_empty() {
        "no script is selected (#ESCRIPT)".to_string()
    } else if modem.script_files().iter().any(|f| f.name == active) {
        format!("\"{active}\" is selected and stored")
    } else {
        format!("\"{active}\" is selected but not stored")
    };
    modem.explain(format!(
        "#EXECSCR: {what}; simodem stores Easy Script files but does not run Telit Python → ERROR"
    ));
    Err(CmdError::Cme(4))
}

/// `AT#GPIO=<pin>,<mode>[,<dir>]` ([DOC] Rev.10 §3.5.7.1.23: no `<save>`, that is [LATER]):
/// - `<mode>` 0/1 with `<dir>`: sets the direction and, for an output, the level;
/// - `<mode>` 0/1 alone ([INFERRED], the app note's `AT#GPIO=2,1` by SMS): sets the output
///   latch, keeping the direction;
/// - `<mode>` 2: `#GPIO: <dir>,<stat>` (after setting `<dir>` when given, [INFERRED]).
///
/// `<dir>` 2 only on pins with an alternate function; `<dir>` 3 where the model has no
/// pull-down reverts to input ([DOC]). `AT#GPIO?` lists every pin.
pub fn gpio(modem: &mut Modem, command: &Command) -> CmdResult {
    let pins = modem.profile().telit_module.gpio_pins;
    match command.form {
        Form::Test => {
            // [INFERRED] the doc gives no literal, only "the supported range of values".
            modem
                .info
                .push(format!("#GPIO: (1-{}),(0-2),(0-3)", pins.len()));
            return Ok(Done::Ok);
        }
        Form::Read => {
            let lines: Vec<String> = modem
                .gpio
                .pins
                .iter()
                .map(|p| format!("#GPIO: {},{}", p.direction.number(), p.stat()))
                .collect();
            modem.info.extend(lines);
            return Ok(Done::Ok);
        }
        Form::Set(_) => {}
        _ => return Err(CmdError::UnsupportedForm),
    }
    at_most(command, 3)?;
    let pin = required_int(command, 0, 1, pins.len() as u32)? as usize;
    let mode = required_int(command, 1, 0, 2)?;
    let dir = int_param(command, 2, 0, 3)?;
    let capabilities = pins[pin - 1];
    if let Some(number) = dir {
        let mut direction = GpioDirection::from_number(number).ok_or(CmdError::InvalidParameter)?;
        match direction {
            GpioDirection::Alternate => match capabilities.alternate_function {
                Some(function) => {
                    modem.explain(format!("GPIO{pin}: alternate function, {function}"))
                }
                None => {
                    modem.explain(format!("GPIO{pin} has no alternate function"));
                    return Err(CmdError::InvalidParameter);
                }
            },
            GpioDirection::PullDown if !capabilities.pull_down => {
                modem.explain(format!(
                    "GPIO{pin} has no tristate pull-down: set to input instead"
                ));
                direction = GpioDirection::Input;
            }
            _ => {}
        }
        modem.gpio.pins[pin - 1].direction = direction;
    }
    let state = &mut modem.gpio.pins[pin - 1];
    if mode == 2 {
        let line = format!("#GPIO: {},{}", state.direction.number(), state.stat());
        modem.info.push(line);
        return Ok(Done::Ok);
    }
    state.output_high = mode == 1;
    let direction = state.direction;
    modem.explain(format!(
        "GPIO{pin}: {}, output latch {}{}",
        direction.name(),
        if mode == 1 { "high" } else { "low" },
        if direction == GpioDirection::Output {
            ""
        } else {
            " (not driven: the pin is not an output)"
        }
    ));
    Ok(Done::Ok)
}

/// `AT#SMSMODE=<mode>` 0/1 (NVM), read `#SMSMODE: <mode>`, test `#SMSMODE: (0,1)`.
/// simodem models mode 1's text-mode re-prompt on CR and its `#SELINT` lock; the other
/// improved-mode differences (§C.1) are not modelled.
pub fn smsmode(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            modem.info.push("#SMSMODE: (0,1)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            let mode = modem.sms_mode();
            modem.info.push(format!("#SMSMODE: {mode}"));
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            let mode = required_int(command, 0, 0, 1)?;
            modem.nvm.sms_mode = Some(mode);
            modem.save_nvm();
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}
