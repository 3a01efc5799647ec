//! Telit module resources beside the radio: the Easy Script file store kept in NVM (`#WSCRIPT`
//! upload, `#ESCRIPT`, `#STARTMODESCR`), the GPIO pins (`#GPIO`) and `#SMSMODE`, with their profile data.

use serde::{Deserialize, Serialize};

use super::data_mode::{PortMode, Prompt, PromptEnd, PromptPurpose};
use super::{Modem, TimerKind};
use crate::commands::Family;
use crate::dte::ResultCode;

/// What a Telit module has for scripts, GPIO and `#SMSMODE` (telit.md §C.1, §D.5).
#[derive(Debug)]
pub struct TelitModuleProfile {
    /// NVM bytes for script files. [DOC] GE865-QUAD datasheet: "1.9 MB of NV memory for the
    /// user scripts"; [INFERRED] as 1 900 000 bytes with no per-file overhead.
    pub script_space_bytes: usize,
    /// [DOC] §3.5.7.11: file names are at most 16 characters, case sensitive.
    pub script_name_max_chars: usize,
    /// [DOC] §3.2.4: `#WSCRIPT` gives "30 seconds timeout and ERROR message if no bytes are
    /// received on the serial line".
    pub script_upload_idle_ms: u64,
    /// `#GPIO` pins 1..=N, in pin order.
    pub gpio_pins: &'static [GpioPinProfile],
    /// Factory `#SMSMODE`. [DOC] §3.5.7.1.12: 1 on GE865-QUAD and GE864-DUAL V2, 0 elsewhere.
    pub sms_mode_factory: u32,
}

/// One GPIO pin of a model: its power-on state and what it can be set to.
#[derive(Debug, Clone, Copy)]
pub struct GpioPinProfile {
    pub direction: GpioDirection,
    /// The output latch at power-on (what `<stat>` shows while the pin is an output).
    pub output_high: bool,
    /// `<dir>`=2 is accepted: the pin has an alternate function (named for explanations).
    pub alternate_function: Option<&'static str>,
    /// `<dir>`=3 (tristate pull-down) exists; where it does not, the pin becomes an input
    /// ([DOC] §3.5.7.1.23: "automatically the setting is reverted to INPUT").
    pub pull_down: bool,
}

const fn input_pin(alternate_function: Option<&'static str>) -> GpioPinProfile {
    GpioPinProfile {
        direction: GpioDirection::Input,
        output_high: false,
        alternate_function,
        pull_down: false,
    }
}

/// [DOC] GE865 Hardware User Guide §11: GPIO_01..GPIO_10 (the datasheet's "10 I/O ports"),
/// GPIO_01..08 inputs at power-on; alternate functions on GPIO2 (JDR), 4 (RF transmission
/// control), 5 (RFTXMON), 6 (alarm), 7 (buzzer); no tristate pull-down is listed.
/// [INFERRED] GPIO_09/10 ("1, open drain" in the table) start as outputs driven high.
const GE865_GPIO: &[GpioPinProfile] = &[
    input_pin(None),
    input_pin(Some("jammed detect output (#JDR)")),
    input_pin(None),
    input_pin(Some("RF transmission control")),
    input_pin(Some("RF transmission monitor (RFTXMON)")),
    input_pin(Some("alarm output (+CALA)")),
    input_pin(Some("buzzer output (#SRP)")),
    input_pin(None),
    GpioPinProfile {
        direction: GpioDirection::Output,
        output_high: true,
        alternate_function: None,
        pull_down: false,
    },
    GpioPinProfile {
        direction: GpioDirection::Output,
        output_high: true,
        alternate_function: None,
        pull_down: false,
    },
];

/// The GE865-QUAD (the `telit` profile's module); the SIM900 entry carries it unread.
pub const GE865_MODULE: TelitModuleProfile = TelitModuleProfile {
    script_space_bytes: 1_900_000,
    script_name_max_chars: 16,
    script_upload_idle_ms: 30_000,
    gpio_pins: GE865_GPIO,
    sms_mode_factory: 1,
};

/// `#GPIO` `<dir>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GpioDirection {
    Input,
    Output,
    Alternate,
    PullDown,
}

impl GpioDirection {
    /// The `<dir>` number `#GPIO` prints.
    pub fn number(self) -> u32 {
        match self {
            GpioDirection::Input => 0,
            GpioDirection::Output => 1,
            GpioDirection::Alternate => 2,
            GpioDirection::PullDown => 3,
        }
    }

    /// In words, for explanations.
    pub fn name(self) -> &'static str {
        match self {
            GpioDirection::Input => "input",
            GpioDirection::Output => "output",
            GpioDirection::Alternate => "alternate function",
            GpioDirection::PullDown => "tristate pull-down",
        }
    }

    pub fn from_number(number: u32) -> Option<GpioDirection> {
        match number {
            0 => Some(GpioDirection::Input),
            1 => Some(GpioDirection::Output),
            2 => Some(GpioDirection::Alternate),
            3 => Some(GpioDirection::PullDown),
            _ => None,
        }
    }
}

/// One pin now. Volatile: Rev.10 `#GPIO` has no `<save>` (that is [LATER] firmware), and the
/// storage list of §3.3 does not name it, so power-on restores the hardware defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpioPin {
    pub direction: GpioDirection,
    /// The output latch (`<mode>` 0/1).
    pub output_high: bool,
    /// The level on the pad from outside; nothing drives simodem's pins, so it reads low.
    pub input_high: bool,
}

impl GpioPin {
    /// `<stat>`: the pad read as an input, the latch as an output, a meaningless 0 otherwise.
    pub fn stat(&self) -> u32 {
        match self.direction {
            GpioDirection::Input => u32::from(self.input_high),
            GpioDirection::Output => u32::from(self.output_high),
            GpioDirection::Alternate | GpioDirection::PullDown => 0,
        }
    }
}

/// The module's GPIO pins (index = pin - 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpioBank {
    pub pins: Vec<GpioPin>,
}

/// One pin as `ctl state` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct GpioPinState {
    pub pin: usize,
    pub direction: GpioDirection,
    /// `<stat>` as `AT#GPIO=<pin>,2` reports it.
    pub stat: u32,
}

impl GpioBank {
    /// The pins as power-on leaves them.
    pub fn factory(module: &TelitModuleProfile) -> GpioBank {
        GpioBank {
            pins: module
                .gpio_pins
                .iter()
                .map(|p| GpioPin {
                    direction: p.direction,
                    output_high: p.output_high,
                    input_high: false,
                })
                .collect(),
        }
    }

    pub fn states(&self) -> Vec<GpioPinState> {
        self.pins
            .iter()
            .enumerate()
            .map(|(i, p)| GpioPinState {
                pin: i + 1,
                direction: p.direction,
                stat: p.stat(),
            })
            .collect()
    }
}

/// The Easy Script files and start-up settings (NVM: "scripts", telit.md §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EasyScriptNvm {
    /// In the order they were first written; rewriting a name keeps its place ([INFERRED]:
    /// the manuals do not say how `#LSCRIPT` orders them; the doc's example is write order).
    pub files: Vec<ScriptFile>,
    /// `#ESCRIPT`: the file run at start-up ("" none); not checked against `files`.
    pub active: String,
    /// `#STARTMODESCR` `<script_start_mode>` 0..2 (factory 0).
    pub start_mode: u32,
    /// `#STARTMODESCR` `<script_start_to>` 10..60 s (factory 10).
    pub start_timeout_s: u32,
}

impl Default for EasyScriptNvm {
    fn default() -> Self {
        EasyScriptNvm {
            files: Vec::new(),
            active: String::new(),
            start_mode: 0,
            start_timeout_s: 10,
        }
    }
}

/// One stored script; its bytes are base64 in the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ScriptFile {
    pub name: String,
    /// `#RSCRIPT` shows an empty file.
    pub hidden: bool,
    #[serde(with = "base64_bytes")]
    pub content: Vec<u8>,
}

/// Script bytes as one base64 string (they are binary: `.pyo`, CR/LF/Ctrl-Z are data).
mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// A `#WSCRIPT` upload under way: where its bytes go once all have come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScriptUpload {
    pub name: String,
    pub hidden: bool,
}

/// CRC16-CCITT as `#LCSCRIPT` prints it: polynomial 0x1021, initial value 0xFFFF, no
/// reflection, no final XOR ([DOC] §3.5.7.11.6).
pub(crate) fn crc16_ccitt(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

impl Modem {
    /// The stored script files (none before the first `#WSCRIPT`).
    pub(crate) fn script_files(&self) -> &[ScriptFile] {
        self.nvm.easy_script.as_ref().map_or(&[], |s| &s.files)
    }

    /// The script settings to change; the caller saves NVM afterwards.
    pub(crate) fn scripts_mut(&mut self) -> &mut EasyScriptNvm {
        self.nvm
            .easy_script
            .get_or_insert_with(EasyScriptNvm::default)
    }

    /// `#ESCRIPT` and `#STARTMODESCR` as they stand (factory values before any change).
    pub(crate) fn script_settings(&self) -> (String, u32, u32) {
        let defaults = EasyScriptNvm::default();
        let scripts = self.nvm.easy_script.as_ref().unwrap_or(&defaults);
        (
            scripts.active.clone(),
            scripts.start_mode,
            scripts.start_timeout_s,
        )
    }

    /// Script NVM not used by a file.
    pub(crate) fn script_free_bytes(&self) -> usize {
        let used: usize = self.script_files().iter().map(|f| f.content.len()).sum();
        self.profile
            .telit_module
            .script_space_bytes
            .saturating_sub(used)
    }

    /// `#WSCRIPT` accepted: the `\r\n>>>` prompt ([DOC] IRA 13, 10, 62, 62, 62; no space), then
    /// exactly `size` raw bytes, no echo.
    pub(crate) fn start_script_upload(&mut self, upload: ScriptUpload, size: usize) {
        self.explain(format!(
            "prompt: the next {size} bytes are script \"{}\" (binary, no echo; {} s without a byte → ERROR)",
            upload.name,
            self.profile.telit_module.script_upload_idle_ms / 1000
        ));
        self.port_mode = PortMode::Prompt(Prompt::new(
            PromptPurpose::Script(upload),
            Some(size),
            size,
            false,
        ));
        self.write_dte(b"\r\n>>>");
        self.script_upload_progressed();
    }

    /// Bytes of the upload arrived: the idle timeout starts over.
    pub(crate) fn script_upload_progressed(&mut self) {
        self.cancel_timers(TimerKind::ScriptUpload);
        self.schedule(
            self.profile.telit_module.script_upload_idle_ms,
            TimerKind::ScriptUpload,
        );
    }

    /// The idle timeout of an upload passed with no byte.
    pub(crate) fn script_upload_timed_out(&mut self) {
        if let PortMode::Prompt(prompt) = &self.port_mode
            && let PromptPurpose::Script(upload) = &prompt.purpose
        {
            let message = format!(
                "#WSCRIPT: no byte for {} s with {} of {} bytes of \"{}\" received → ERROR, nothing stored",
                self.profile.telit_module.script_upload_idle_ms / 1000,
                prompt.data.len(),
                prompt.fixed_len.unwrap_or(0),
                upload.name
            );
            self.explain(message);
            self.end_prompt(PromptEnd::Cancelled);
        }
    }

    /// The upload is over: every byte came (stored, `OK`) or it timed out (`ERROR`).
    pub(crate) fn script_upload_ended(&mut self, upload: ScriptUpload, end: PromptEnd) {
        self.cancel_timers(TimerKind::ScriptUpload);
        match end {
            PromptEnd::Done(content) => {
                let size = content.len();
                let ScriptUpload { name, hidden } = upload;
                let scripts = self.scripts_mut();
                let replaced = match scripts.files.iter_mut().find(|f| f.name == name) {
                    Some(old) => {
                        old.hidden = hidden;
                        old.content = content;
                        true
                    }
                    None => {
                        scripts.files.push(ScriptFile {
                            name: name.clone(),
                            hidden,
                            content,
                        });
                        false
                    }
                };
                self.explain(format!(
                    "script \"{name}\" stored ({size} bytes{}{}) → OK",
                    if hidden { ", hidden" } else { "" },
                    if replaced {
                        ", replacing the old one"
                    } else {
                        ""
                    }
                ));
                self.save_nvm();
                self.write_result(&ResultCode::Ok);
            }
            PromptEnd::Cancelled | PromptEnd::TooLong => {
                // [DOC] §3.2.4: a plain ERROR message, whatever +CMEE says.
                self.write_result(&ResultCode::Error);
            }
        }
        self.flush_urcs();
    }

    /// At power-on: what the selected Easy Script would do on a real module.
    pub(crate) fn explain_easy_script_at_boot(&mut self) {
        let (active, mode, timeout) = self.script_settings();
        if active.is_empty() || !self.profile.has_family(Family::Telit) {
            return;
        }
        let stored = self.script_files().iter().any(|f| f.name == active);
        let message = if stored {
            let when = match mode {
                0 => "only with DTR low".to_string(),
                1 => format!("unless an AT command comes within {timeout} s"),
                _ => "in any case".to_string(),
            };
            format!(
                "Easy Script: \"{active}\" is enabled and would run at start-up \
                 (#STARTMODESCR={mode}: {when}); simodem stores scripts but does not run Telit Python"
            )
        } else {
            format!(
                "Easy Script: \"{active}\" is selected by #ESCRIPT but not stored: nothing would run at start-up"
            )
        };
        self.explain(message);
    }

    /// `#SMSMODE` (NVM; the profile's factory value until set). Only Telit modules have it.
    pub(crate) fn sms_mode(&self) -> u32 {
        self.nvm
            .sms_mode
            .unwrap_or(self.profile.telit_module.sms_mode_factory)
    }

    /// Telit "improved SMS commands operation mode" (`#SMSMODE=1`) is on.
    pub(crate) fn improved_sms_mode(&self) -> bool {
        self.profile.has_family(Family::Telit) && self.sms_mode() == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_ccitt_false_check_value() {
        assert_eq!(crc16_ccitt(b"123456789"), 0x29B1);
        assert_eq!(crc16_ccitt(b""), 0xFFFF);
    }

    #[test]
    fn script_bytes_are_base64_in_the_state_file() {
        let file = ScriptFile {
            name: "a.pyo".into(),
            hidden: true,
            content: vec![0, b'\r', b'\n', 0x1a, 0xff],
        };
        let json = serde_json::to_string(&file).expect("serialise");
        assert_eq!(
            json,
            r#"{"name":"a.pyo","hidden":true,"content":"AA0KGv8="}"#
        );
        let back: ScriptFile = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, file);
    }

    #[test]
    fn ge865_has_ten_gpio_pins_with_alternates_on_2_and_4_to_7() {
        let pins = GE865_MODULE.gpio_pins;
        assert_eq!(pins.len(), 10);
        let alternates: Vec<usize> = (1..=pins.len())
            .filter(|&pin| pins[pin - 1].alternate_function.is_some())
            .collect();
        assert_eq!(alternates, [2, 4, 5, 6, 7]);
    }
}
