//! Model personalities as data: identification strings, limits, factory values, boot timeline,
//! enabled command families and the choices the specs leave open. No handler branches on the model.

use crate::commands::Family;

/// One S-register a model has.
#[derive(Debug, Clone, Copy)]
pub struct SRegister {
    pub index: u32,
    pub factory: u32,
    pub min: u32,
    pub max: u32,
    /// Writes are accepted but change nothing (SIM900 S2/S12).
    pub read_only: bool,
}

/// How `ATSn?` prints a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SRegisterFormat {
    /// `0`, `13` (SIM900, matching its `AT&V`).
    Plain,
    /// `000`, `013` (V.250 and Telit).
    ThreeDigits,
}

/// An unsolicited line printed at a fixed time after power-on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootUrc {
    Rdy,
    CfunOne,
    /// `+CPIN: <state>` as the SIM comes up.
    CpinState,
    /// `Call Ready` (SIM900, only with `AT+CIURC=1`).
    CallReady,
    /// `SMS Ready`.
    SmsReady,
}

/// What happens when, in milliseconds after power-on.
#[derive(Debug, Clone, Copy)]
pub struct BootTimeline {
    /// URCs printed only with a fixed baud rate (+IPR≠0), with their times.
    pub urcs: &'static [(u64, BootUrc)],
    /// When the SIM has finished initialising.
    pub sim_ready_ms: u64,
    /// How long the network search takes once the SIM is ready and the radio on.
    pub registration_ms: u64,
}

/// Incoming-call timing.
#[derive(Debug, Clone, Copy)]
pub struct CallTiming {
    /// Time between two RINGs.
    pub ring_interval_ms: u64,
    /// The caller hangs up (→ `NO CARRIER`) after this many unanswered rings.
    pub caller_gives_up_after_rings: u32,
}

/// What the module prints when its SIM is pulled out or pushed in while powered.
#[derive(Debug, Clone, Copy)]
pub struct SimHotplug {
    /// URC on removal (`None`: silent).
    pub removed_urc: Option<&'static str>,
    /// After insertion, announce `+CPIN: <state>` when the SIM is initialised.
    pub inserted_announces: bool,
}

/// A V.250/27.007 error number and the model's text for it (CMEE=2).
pub type CmeText = (u16, &'static str);

/// Timings and limits of the TCP/IP stack ([INF] where the manuals are silent).
#[derive(Debug)]
pub struct IpProfile {
    /// A connection attempt nobody answers fails after this long (`CONNECT FAIL`).
    pub connect_timeout_ms: u64,
    /// How long `+CIICR` takes to bring the context up.
    pub ciicr_ms: u64,
    /// Received bytes kept per connection before the socket stops reading.
    pub rx_buffer_bytes: usize,
    /// Most bytes one `+CIPSEND` takes.
    pub max_send: usize,
    /// The unit of `+CIPCCFG` WaitTm.
    pub wait_tm_unit_ms: u64,
}

/// Choices of the Telit IP Easy stack (contexts `#SGACT`/`#FRWL`/`#USERID`, sockets `#SD`…)
/// where the manuals are silent or vague ([UNSURE] in telit.md); the SIM900 never reads them.
#[derive(Debug)]
pub struct TelitIpProfile {
    /// PDP contexts active at once ([APPNOTE] IP Easy guide §3.2.1.3: 2).
    pub max_active_contexts: usize,
    /// The `+CME ERROR` for one activation more than that ([INFERRED] 555 activation failed).
    pub context_limit_error: u16,
    /// `#FRWL` ACCEPT rules kept at most ([UNSURE] undocumented).
    pub firewall_max_rules: usize,
    /// Longest `#USERID`/`#PASSW` and what their test forms print ([UNSURE] suggested 50).
    pub auth_max_len: usize,
    /// `#QDNS` gives up (558) when the host has not answered by then ([DOC] §3.2.4: 20 s).
    pub qdns_timeout_ms: u64,
    /// Hex digits of `#SRECV` and `SRING` data (recvDataMode=1) in upper case: the doc's
    /// example is lower case, the observed module output and client parsers upper case.
    pub hex_upper: bool,
    /// What `#SSEND`/`#SSENDEXT` print before the payload.
    pub send_prompt: &'static str,
    /// Most bytes one `#SSEND`/`#SSENDEXT` sends (more typed before Ctrl-Z are dropped).
    pub max_send: usize,
    /// Most bytes one `#SRECV` returns.
    pub max_recv: usize,
}

/// Telit's values, shared by the SIM900 entry (which has no IP Easy commands). [OBS] client
/// tests see `SRING: 5,69,5544…`: upper-case hex; [INFERRED] the `#SSEND` prompt framed like
/// `+CMGS`'s (telit.md §7.12); [DOC] 1500 bytes per send/receive on 10.0x.xx3+.
const TELIT_IP_EASY: TelitIpProfile = TelitIpProfile {
    max_active_contexts: 2,
    context_limit_error: 555,
    firewall_max_rules: 10,
    auth_max_len: 50,
    qdns_timeout_ms: 20_000,
    hex_upper: true,
    send_prompt: "\r\n> ",
    max_send: 1500,
    max_recv: 1500,
};

/// Choices of the ATRUN services (`#SMSATRUN`, `#TCPATRUN*`) where telit.md §B is unsure;
/// the SIM900 never reads them.
#[derive(Debug)]
pub struct AtrunProfile {
    /// Lowest AT instance a service may reserve: 2 per the AT reference (telit.md §7.4); the
    /// Run-AT app note also talks of instance 1.
    pub min_instance: u8,
    /// A TCP ATRUN login (user and password) must be complete within this ([UNSURE] B.12).
    pub login_timeout_ms: u64,
    /// `#TCPATRUN: DISCONNECT` or, with the doc's literal, `#TCPATRUN: <DISCONNECT>` (B.17).
    pub disconnect_urc: &'static str,
    /// `#SMSATRUN: 1, 1` with a space, as the app note's screenshot shows (§7.8); off: the
    /// reference's `#SMSATRUN: 1,1`.
    pub read_with_space: bool,
    /// Reply SMS parts at most; longer output is truncated ([APPNOTE] note 9: 15).
    pub max_reply_parts: usize,
    /// SMS requests waiting while one runs; more are discarded (with an explanation).
    pub max_pending_requests: usize,
    /// Command lines `#TCPATCMDSEQ=1` queues at most; more are dropped.
    pub max_queued_lines: usize,
    /// A partly received TCP ATRUN line longer than this is cut (the instance answers `ERROR`
    /// for a line over its limit anyway); bounds memory against a peer that never sends CR.
    pub max_line_bytes: usize,
}

const TELIT_ATRUN: AtrunProfile = AtrunProfile {
    min_instance: 2,
    login_timeout_ms: 60_000,
    disconnect_urc: "#TCPATRUN: DISCONNECT",
    read_with_space: false,
    max_reply_parts: 15,
    max_pending_requests: 16,
    max_queued_lines: 32,
    max_line_bytes: 1024,
};

/// One message memory (`+CPMS`) and how many messages it holds.
#[derive(Debug, Clone, Copy)]
pub struct SmsMemory {
    /// `SM`, `ME`.
    pub name: &'static str,
    pub capacity: usize,
}

/// 27.005 behaviour of a model: memories, `+CNMI` ranges and the choices the specs leave open.
#[derive(Debug)]
pub struct SmsProfile {
    /// Real memories, the first one being the factory choice for all three `+CPMS` roles.
    pub memories: &'static [SmsMemory],
    /// Other `+CPMS` names the model accepts, and the real memory each stands for.
    pub memory_aliases: &'static [(&'static str, &'static str)],
    /// The `+CPMS=?` line.
    pub cpms_test: &'static str,
    /// The `+CNMI=?` line and the values each parameter accepts.
    pub cnmi_test: &'static str,
    pub cnmi_values: [&'static [u32]; 5],
    /// Factory `+CNMI` (mode, mt, bm, ds, bfr).
    pub factory_cnmi: (u32, u32, u32, u32, u32),
    /// `+CMGR` of an empty slot within the memory: `None` answers just `OK`.
    pub empty_slot_read_error: Option<u16>,
    /// What a text-mode `+CMGS`/`+CMGW` ended by Ctrl-Z with no text gives.
    pub empty_text_error: u16,
    /// Echo the hex typed after the PDU-mode prompt (under `E1`).
    pub echo_pdu: bool,
    /// Time from Ctrl-Z to `+CMGS: <mr>` (the network's acknowledgement) unless the world
    /// sets its own (`sms_ack_ms`).
    pub submit_ms: u64,
    /// A `+CMT`/`+CDS` not acknowledged by `+CNMA` within this time (with `+CSMS=1`) turns
    /// direct routing off (27.005 §3.4.4) and the message is stored instead.
    pub cnma_timeout_ms: u64,
}

#[derive(Debug)]
pub struct Profile {
    /// `sim900`, `telit`.
    pub id: &'static str,
    /// Command families this model answers; everything else is an unknown command.
    pub families: &'static [Family],
    /// AT parser instances by default (Telit: 3, reachable as ports and CMUX DLCIs 1-3).
    pub at_instances: u8,
    /// Characters allowed after `AT` on one line.
    pub max_line_chars: usize,
    pub manufacturer: &'static str,
    pub model: &'static str,
    /// The `+CGMR` line as printed.
    pub revision: &'static str,
    /// `ATI<n>` → lines (an empty list prints nothing but `OK`); a missing n → ERROR.
    pub ati: &'static [(u32, &'static [&'static str])],
    /// The `+GCAP` line as printed.
    pub gcap: &'static str,
    /// What `+GSN` prints when it is not the IMEI (Telit: the board serial).
    pub board_serial: Option<&'static str>,
    /// Text after the number in `+CNUM` (`,7,4` on SIM900).
    pub cnum_suffix: &'static str,
    pub s_registers: &'static [SRegister],
    pub s_register_format: SRegisterFormat,
    /// Factory `+IPR` (0 = auto-baud, silent until the first `AT`).
    pub factory_ipr: u32,
    /// `+IPR` values accepted.
    pub ipr_rates: &'static [u32],
    /// The `+IPR=?` line.
    pub ipr_test: &'static str,
    pub factory_ifc: (u32, u32),
    /// `&D` values accepted.
    pub dtr_modes: &'static [u32],
    /// `+CSCS` character sets (the `=?` list, in order) and the factory one.
    pub charsets: &'static [&'static str],
    pub factory_charset: &'static str,
    /// `+COPS=?` text after the operator list (`,,(0,1,4),(0,1,2)`).
    pub cops_test_tail: &'static str,
    /// `+CBC` prints the voltage in mV as a third field.
    pub cbc_voltage: bool,
    /// `+CFUN=0` announces `+CPIN: NOT READY`.
    pub cfun0_announces_sim_not_ready: bool,
    pub boot: BootTimeline,
    /// Error for a bad parameter value of an extended command (SIM900: 765 `invalid input value`).
    pub invalid_parameter_error: u16,
    /// Error for a form a command does not have (`AT+CGMI?`); `None` → the unknown-command error.
    pub unsupported_form_error: Option<u16>,
    /// Model-specific texts that replace the common `+CME ERROR` table.
    pub cme_text_overrides: &'static [CmeText],
    /// Bytes printed by `+CPOWD=1` / `#SHDN` before going silent.
    pub power_down_text: Option<&'static str>,
    /// `ATO` with no connection: `NO CARRIER` (Telit) instead of `ERROR` (SIM900).
    pub online_without_connection_is_no_carrier: bool,
    /// `AT#/` repeats the previous line like `A/` (Telit).
    pub hash_slash_repeats: bool,
    pub call: CallTiming,
    pub sim_hotplug: SimHotplug,
    pub ip: IpProfile,
    pub telit_ip: TelitIpProfile,
    pub atrun: AtrunProfile,
    /// Telit Easy Script NVM, GPIO pins and `#SMSMODE` factory value.
    pub telit_module: super::scripts::TelitModuleProfile,
    pub sms: SmsProfile,
}

const fn sreg(index: u32, factory: u32, min: u32, max: u32) -> SRegister {
    SRegister {
        index,
        factory,
        min,
        max,
        read_only: false,
    }
}

const fn sreg_fixed(index: u32, value: u32) -> SRegister {
    SRegister {
        index,
        factory: value,
        min: 0,
        max: 255,
        read_only: true,
    }
}

/// [?] A SIM of 30 messages and 50 in the module (sim900.md §3.1 recommends these; real SIMs
/// hold 20-50).
const SIM_AND_MODULE_MEMORIES: &[SmsMemory] = &[
    SmsMemory {
        name: "SM",
        capacity: 30,
    },
    SmsMemory {
        name: "ME",
        capacity: 50,
    },
];

pub static SIM900: Profile = Profile {
    id: "sim900",
    families: &[Family::V250, Family::Gsm27007, Family::Simcom],
    at_instances: 1,
    max_line_chars: 556,
    manufacturer: "SIMCOM_Ltd",
    model: "SIMCOM_SIM900",
    revision: "Revision:1137B11SIM900M64_ST",
    ati: &[(0, &["SIM900 R11.0"])],
    gcap: "+GCAP:+FCLASS,+CGSM",
    board_serial: None,
    cnum_suffix: ",7,4",
    s_registers: &[
        sreg(0, 0, 0, 255),
        sreg_fixed(2, 43),
        sreg(3, 13, 13, 13),
        sreg(4, 10, 10, 10),
        sreg(5, 8, 0, 127),
        sreg(6, 2, 0, 999),
        sreg(7, 60, 1, 255),
        sreg(8, 2, 0, 255),
        sreg(10, 15, 1, 254),
        sreg_fixed(12, 50),
    ],
    s_register_format: SRegisterFormat::Plain,
    factory_ipr: 0,
    ipr_rates: &[
        0, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800,
    ],
    ipr_test: "+IPR: (),(0,1200,2400,4800,9600,19200,38400,57600,115200,230400,460800)",
    factory_ifc: (0, 0),
    dtr_modes: &[0, 1, 2],
    charsets: &["IRA", "GSM", "UCS2", "HEX", "PCCP", "PCDN", "8859-1"],
    factory_charset: "IRA",
    cops_test_tail: ",,(0,1,4),(0,1,2)",
    cbc_voltage: true,
    cfun0_announces_sim_not_ready: true,
    boot: BootTimeline {
        urcs: &[
            (50, BootUrc::Rdy),
            (200, BootUrc::CfunOne),
            (200, BootUrc::CpinState),
            (500, BootUrc::CallReady),
        ],
        sim_ready_ms: 200,
        registration_ms: 500,
    },
    invalid_parameter_error: 765,
    unsupported_form_error: None,
    cme_text_overrides: &[],
    power_down_text: Some("NORMAL POWER DOWN"),
    online_without_connection_is_no_carrier: false,
    hash_slash_repeats: false,
    // [INF] GSM networks repeat the alerting about every 5 s; callers give up after ~30 s.
    call: CallTiming {
        ring_interval_ms: 5000,
        caller_gives_up_after_rings: 6,
    },
    // [INF] SIM800-family modules report a pulled SIM as NOT READY; insertion is announced like
    // at boot (spec §2.1).
    sim_hotplug: SimHotplug {
        removed_urc: Some("+CPIN: NOT READY"),
        inserted_announces: true,
    },
    // [OBS] a dead host takes ~75 s to CONNECT FAIL (LilyGo #244); [INF] +CIICR takes 0.5 s
    // (up to 85 s on hardware); [?] 1460 bytes per send; [?] WaitTm in 100 ms units.
    ip: IpProfile {
        connect_timeout_ms: 75_000,
        ciicr_ms: 500,
        rx_buffer_bytes: 16 * 1024,
        max_send: 1460,
        wait_tm_unit_ms: 100,
    },
    telit_ip: TELIT_IP_EASY,
    atrun: TELIT_ATRUN,
    telit_module: super::scripts::GE865_MODULE,
    // [MAN] memory names and CNMI ranges (ds=2 refused [OBS PGM #60]); [?] capacities: SIM
    // 30, ME 50 (spec §3.1); [INF] +CMGS answers after ~1 s; [INF] 15 s for +CNMA (24.011 TR2M).
    sms: SmsProfile {
        memories: SIM_AND_MODULE_MEMORIES,
        memory_aliases: &[("SM_P", "SM"), ("ME_P", "ME"), ("MT", "SM")],
        cpms_test: "+CPMS: (\"SM\",\"ME\",\"SM_P\",\"ME_P\",\"MT\"),(\"SM\",\"ME\",\"SM_P\",\"ME_P\",\"MT\"),(\"SM\",\"ME\",\"SM_P\",\"ME_P\",\"MT\")",
        cnmi_test: "+CNMI: (0-3),(0-3),(0,2),(0,1),(0,1)",
        cnmi_values: [&[0, 1, 2, 3], &[0, 1, 2, 3], &[0, 2], &[0, 1], &[0, 1]],
        factory_cnmi: (2, 1, 0, 0, 0),
        empty_slot_read_error: None,
        empty_text_error: 305,
        echo_pdu: true,
        submit_ms: 1000,
        cnma_timeout_ms: 15_000,
    },
};

pub static TELIT: Profile = Profile {
    id: "telit",
    families: &[
        Family::V250,
        Family::Gsm27007,
        Family::Telit,
        Family::TelitIp,
    ],
    at_instances: 3,
    max_line_chars: 80,
    manufacturer: "Telit",
    model: "GE865",
    revision: "10.00.002",
    ati: &[
        (0, &["332"]),
        (1, &["0"]),
        (2, &[]),
        (3, &["Telit"]),
        (4, &["GE865"]),
        (5, &["DOB v.2.0"]),
    ],
    gcap: "+GCAP: +CGSM,+DS,+FCLASS,+MS",
    board_serial: Some("0000614558"),
    cnum_suffix: "",
    s_registers: &[
        sreg(0, 0, 0, 255),
        sreg(1, 0, 0, 255),
        sreg(2, 43, 0, 255),
        sreg(3, 13, 0, 127),
        sreg(4, 10, 0, 127),
        sreg(5, 8, 0, 127),
        sreg(7, 50, 1, 255),
        sreg(12, 50, 20, 255),
        sreg(25, 5, 0, 255),
        sreg(30, 0, 0, 127),
        sreg(38, 20, 0, 255),
    ],
    s_register_format: SRegisterFormat::ThreeDigits,
    factory_ipr: 115200,
    ipr_rates: &[0, 300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200],
    ipr_test: "+IPR: (0,300,1200,2400,4800,9600,19200,38400,57600,115200),()",
    factory_ifc: (2, 2),
    dtr_modes: &[0, 1, 2, 3],
    charsets: &["GSM", "IRA", "8859-1", "PCCP437", "UCS2"],
    factory_charset: "IRA",
    cops_test_tail: ",,(0-4),(0-2)",
    cbc_voltage: false,
    cfun0_announces_sim_not_ready: false,
    boot: BootTimeline {
        urcs: &[],
        sim_ready_ms: 200,
        registration_ms: 500,
    },
    invalid_parameter_error: 4,
    unsupported_form_error: Some(4),
    cme_text_overrides: &[(558, "can not resolve DN")],
    power_down_text: None,
    online_without_connection_is_no_carrier: true,
    hash_slash_repeats: true,
    call: CallTiming {
        ring_interval_ms: 5000,
        caller_gives_up_after_rings: 6,
    },
    // [INF] Telit reports SIM moves only through #QSS/#SIMDET, which are off by default.
    sim_hotplug: SimHotplug {
        removed_urc: None,
        inserted_announces: false,
    },
    // The Telit socket stack (#SD…) comes with its own issue; these are its SIM900-like limits.
    ip: IpProfile {
        connect_timeout_ms: 75_000,
        ciicr_ms: 500,
        rx_buffer_bytes: 16 * 1024,
        max_send: 1500,
        wait_tm_unit_ms: 100,
    },
    telit_ip: TELIT_IP_EASY,
    atrun: TELIT_ATRUN,
    telit_module: super::scripts::GE865_MODULE,
    // [DOC] telit.md C.2/C.3: SM and ME, ds 0..2, factory 0,0,0,0,0; [UNSURE] an empty slot
    // gives 321; capacities as the SIM900's.
    sms: SmsProfile {
        memories: SIM_AND_MODULE_MEMORIES,
        memory_aliases: &[],
        cpms_test: "+CPMS: (\"ME\",\"SM\"),(\"ME\",\"SM\"),(\"ME\",\"SM\")",
        cnmi_test: "+CNMI: (0-3),(0-3),(0,2),(0-2),(0,1)",
        cnmi_values: [&[0, 1, 2, 3], &[0, 1, 2, 3], &[0, 2], &[0, 1, 2], &[0, 1]],
        factory_cnmi: (0, 0, 0, 0, 0),
        empty_slot_read_error: Some(321),
        empty_text_error: 305,
        echo_pdu: true,
        submit_ms: 1000,
        cnma_timeout_ms: 15_000,
    },
};

/// All models, for the CLI and the README's command table.
pub static PROFILES: &[&Profile] = &[&SIM900, &TELIT];

impl Profile {
    pub fn by_id(id: &str) -> Option<&'static Profile> {
        PROFILES
            .iter()
            .copied()
            .find(|p| p.id.eq_ignore_ascii_case(id))
    }

    pub fn s_register(&self, index: u32) -> Option<&SRegister> {
        self.s_registers.iter().find(|r| r.index == index)
    }

    pub fn has_family(&self, family: Family) -> bool {
        self.families.contains(&family)
    }
}
