//! Telit ATRUN: the services that run AT commands arriving by SMS or over TCP on an AT
//! instance they reserve, and send the answers back (telit.md §B).

pub(crate) mod rules;
mod sms;
pub(crate) mod sms_request;
mod tcp;

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::data_mode::PortMode;
use super::{Modem, TimerKind};
pub(crate) use rules::Service;
pub(crate) use sms::SmsRun;
use sms_request::Whitelist;
pub(crate) use tcp::TcpRun;

/// `#TCPATRUNCFG`: the ten parameters (B.7), factory values as the reference gives them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TcpAtrunConfig {
    /// The socket (1..6) the service uses; its `#SCFG` pktSz/maxTo/txTo apply.
    pub conn_id: u32,
    /// The AT instance it reserves (2..3).
    pub instance: u8,
    /// Server mode listens here.
    pub tcp_port: u16,
    /// Client mode dials `host:host_port`.
    pub host_port: u16,
    pub host: String,
    /// `#TCPATRUN:` connect/disconnect URCs.
    pub urc: bool,
    /// Minutes one command may run before the module reboots (1..5).
    pub timeout_min: u32,
    /// 0 automatic login, 1 step by step (server mode).
    pub auth_mode: u32,
    /// Client mode: attempts after a failure or disconnection, and their spacing in minutes.
    pub retry_count: u32,
    pub retry_delay_min: u32,
}

impl Default for TcpAtrunConfig {
    fn default() -> Self {
        TcpAtrunConfig {
            conn_id: 1,
            instance: 2,
            tcp_port: 1024,
            host_port: 1024,
            host: String::new(),
            urc: true,
            timeout_min: 5,
            auth_mode: 0,
            retry_count: 0,
            retry_delay_min: 2,
        }
    }
}

/// Everything of ATRUN that survives a reboot: the issue makes all of it NVM (telit.md §6
/// leaves `#TCPATCMDSEQ` and `#ATRUNDELAY` open).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AtrunNvm {
    /// `#SMSATRUN`, and the instance that enabled it (its URCs go there).
    pub sms_enabled: bool,
    pub sms_enabled_on: u8,
    /// `#SMSATRUNCFG`: instance, urcmod, timeout in minutes.
    pub sms_instance: u8,
    pub sms_urc: bool,
    pub sms_timeout_min: u32,
    /// `#SMSATWL`.
    pub whitelist: Whitelist,
    /// `#ATRUNDELAY` in seconds, per service.
    pub tcp_delay_s: u32,
    pub sms_delay_s: u32,
    pub tcp: TcpAtrunConfig,
    /// `#TCPATRUNL` / `#TCPATRUND`, and the instance that enabled them.
    pub tcp_server: bool,
    pub tcp_client: bool,
    pub tcp_enabled_on: u8,
    /// `#TCPATRUNFRWL` ACCEPT rules (address, mask).
    pub tcp_firewall: Vec<(Ipv4Addr, Ipv4Addr)>,
    /// `#TCPATRUNAUTH` user/password pairs.
    pub tcp_users: Vec<(String, String)>,
    /// `#TCPATCMDSEQ` (0/1).
    pub cmdseq: u32,
    /// A command blocked a service for good (B.19 S4, T6): only disabling and enabling it
    /// again locally brings it back.
    pub sms_blocked_for_good: bool,
    pub tcp_blocked_for_good: bool,
}

impl Default for AtrunNvm {
    fn default() -> Self {
        AtrunNvm {
            sms_enabled: false,
            sms_enabled_on: 1,
            sms_instance: 3,
            sms_urc: true,
            sms_timeout_min: 5,
            whitelist: Whitelist::default(),
            tcp_delay_s: 0,
            sms_delay_s: 0,
            tcp: TcpAtrunConfig::default(),
            tcp_server: false,
            tcp_client: false,
            tcp_enabled_on: 1,
            tcp_firewall: Vec::new(),
            tcp_users: Vec::new(),
            cmdseq: 0,
            sms_blocked_for_good: false,
            tcp_blocked_for_good: false,
        }
    }
}

impl AtrunNvm {
    /// Whether TCP ATRUN is on in either mode.
    pub(crate) fn tcp_enabled(&self) -> bool {
        self.tcp_server || self.tcp_client
    }

    /// The instance `service` reserves while enabled.
    pub(crate) fn instance_of(&self, service: Service) -> Option<u8> {
        match service {
            Service::Sms if self.sms_enabled => Some(self.sms_instance),
            Service::Tcp if self.tcp_enabled() => Some(self.tcp.instance),
            _ => None,
        }
    }

    /// `#TCPATRUNFRWL`: a connection from `ip` passes when a rule matches (policy DROP).
    pub(crate) fn firewall_accepts(&self, ip: Ipv4Addr) -> bool {
        super::telit_ip::firewall_accepts(&self.tcp_firewall, ip)
    }
}

/// One command line a service runs on its instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Job {
    /// The line without its terminator (`AT+COPS?`).
    pub line: Vec<u8>,
    /// Waiting for `#ATRUNDELAY`, or given to the instance.
    pub running: bool,
    /// What the instance wrote since it took the line (SMS: the reply's text).
    pub output: Vec<u8>,
    /// A B.19 block the line sets once it has run (the table row with it).
    pub block_after: Option<(Blocked, &'static str)>,
    /// The line ended in an error: a refused command changes nothing, blocks included.
    pub failed: bool,
}

impl Job {
    pub(crate) fn new(line: Vec<u8>) -> Job {
        Job {
            line,
            running: false,
            output: Vec::new(),
            block_after: None,
            failed: false,
        }
    }
}

/// Why a service takes no more requests for now (B.19).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blocked {
    /// Until the per-command timeout reboots the module (S3): the command never ends.
    UntilTimeout,
    /// For good (S4, T6).
    ForGood,
    /// Until one of these commands runs through TCP ATRUN (S5, S6).
    UntilRunViaTcp(&'static [&'static str]),
}

/// What runs instead of a line the tables refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Instead {
    /// Nothing: the command cannot run this way (S9), and no reply follows.
    Skip,
    /// `ERROR`, as the module answers (S11, T1-T4, T8).
    Error,
}

/// What tables B.18/B.19 decide for one line.
#[derive(Debug, Clone, Copy, Default)]
struct Verdict {
    instead: Option<Instead>,
    no_reply: bool,
    /// The strongest block the matching rows set once the line has run.
    block_after: Option<(Blocked, &'static str)>,
}

/// The services' state: NVM configuration and what runs now.
#[derive(Debug, Clone, Default)]
pub(crate) struct Atrun {
    pub nvm: AtrunNvm,
    pub sms: SmsRun,
    pub tcp: TcpRun,
    /// The own port's client of each reserved instance (open, DTR), given back on release.
    pub held_ports: [Option<(bool, bool)>; 3],
}

impl Atrun {
    pub(crate) fn new(nvm: AtrunNvm) -> Atrun {
        let mut atrun = Atrun {
            nvm,
            ..Atrun::default()
        };
        if atrun.nvm.sms_blocked_for_good {
            atrun.sms.blocked = Some(Blocked::ForGood);
        }
        if atrun.nvm.tcp_blocked_for_good {
            atrun.tcp.blocked = Some(Blocked::ForGood);
        }
        atrun
    }

    /// The service reserving `instance`, if any.
    pub(crate) fn reserver(&self, instance: u8) -> Option<Service> {
        [Service::Sms, Service::Tcp]
            .into_iter()
            .find(|&s| self.nvm.instance_of(s) == Some(instance))
    }

    /// The line the service runs or waits to run.
    pub(crate) fn job_line(&self, service: Service) -> Option<&[u8]> {
        self.job(service).map(|j| j.line.as_slice())
    }

    fn job(&self, service: Service) -> Option<&Job> {
        match service {
            Service::Sms => self.sms.job.as_ref(),
            Service::Tcp => self.tcp.job.as_ref(),
        }
    }

    fn job_mut(&mut self, service: Service) -> Option<&mut Job> {
        match service {
            Service::Sms => self.sms.job.as_mut(),
            Service::Tcp => self.tcp.job.as_mut(),
        }
    }
}

/// How many minutes a service's command may run.
fn timeout_min(nvm: &AtrunNvm, service: Service) -> u32 {
    match service {
        Service::Sms => nvm.sms_timeout_min,
        Service::Tcp => nvm.tcp.timeout_min,
    }
}

/// A command line as text for people (explanations, `ctl state`).
pub(crate) fn line_text(line: &[u8]) -> String {
    String::from_utf8_lossy(line).into_owned()
}

pub(crate) fn service_name(service: Service) -> &'static str {
    match service {
        Service::Sms => "SMS ATRUN",
        Service::Tcp => "TCP ATRUN",
    }
}

impl Modem {
    /// The service reserving `instance` (its own port is mute meanwhile).
    pub(crate) fn atrun_reserver(&self, instance: u8) -> Option<Service> {
        self.atrun.reserver(instance)
    }

    /// Saves the ATRUN configuration to NVM.
    pub(crate) fn atrun_save(&mut self) {
        self.nvm.atrun = Some(self.atrun.nvm.clone());
        self.save_nvm();
    }

    /// `instance` becomes the service's: its client is set aside, and the service talks to a
    /// fresh parser with echo off (B.1: replies never carry the echo).
    pub(crate) fn atrun_reserve(&mut self, instance: u8, service: Service) {
        let name = service_name(service);
        self.explain(format!(
            "AT instance {instance} reserved by {name}: its own port stops answering"
        ));
        let index = usize::from(instance.saturating_sub(1));
        self.on_instance(instance, |m| {
            if let Some(slot) = m.atrun.held_ports.get_mut(index) {
                *slot = Some((m.dte_open, m.dtr));
            }
            m.restart_instance_port(true);
            m.settings.echo = false;
        });
        if let Some(mux) = self.mux.as_mut() {
            mux.engine.set_refused(instance, true);
        }
    }

    /// `instance` goes back to its own client, as power-on leaves an instance.
    pub(crate) fn atrun_release(&mut self, instance: u8, service: Service) {
        self.explain(format!(
            "AT instance {instance} released by {}: its port answers again",
            service_name(service)
        ));
        self.cancel_timers(TimerKind::AtrunDelay(service));
        self.cancel_timers(TimerKind::AtrunTimeout(service));
        let index = usize::from(instance.saturating_sub(1));
        let held = self.atrun.held_ports.get_mut(index).and_then(Option::take);
        self.on_instance(instance, |m| {
            m.restart_instance_port(false);
            let (open, dtr) = held.unwrap_or((false, true));
            m.dte_open = open;
            m.dtr = dtr;
        });
        if let Some(mux) = self.mux.as_mut() {
            mux.engine.set_refused(instance, false);
        }
    }

    /// Input on a reserved instance's own port: ignored, but its client's open/close is kept
    /// for when the instance is given back.
    pub(crate) fn atrun_port_input(&mut self, instance: u8, event: &super::PortEvent) {
        let index = usize::from(instance.saturating_sub(1));
        if let Some(Some((open, dtr))) = self.atrun.held_ports.get_mut(index) {
            match event {
                super::PortEvent::Opened => (*open, *dtr) = (true, true),
                super::PortEvent::Closed => (*open, *dtr) = (false, false),
                super::PortEvent::Bytes(_) => *open = true,
            }
        }
        if let super::PortEvent::Bytes(bytes) = event {
            let name = self.atrun_reserver(instance).map_or("ATRUN", service_name);
            self.explain(format!(
                "{} bytes on AT instance {instance}'s port ignored: {name} has reserved it",
                bytes.len()
            ));
        }
    }

    /// After power-on: the enabled services take their instances again (B.1).
    pub(crate) fn atrun_power_on(&mut self) {
        self.atrun = Atrun::new(self.nvm.atrun.clone().unwrap_or_default());
        for service in [Service::Sms, Service::Tcp] {
            if let Some(instance) = self.atrun.nvm.instance_of(service) {
                self.atrun_reserve(instance, service);
            }
        }
    }

    /// Bytes the reserved `instance` wrote: the running SMS request's reply, or the TCP peer's.
    pub(crate) fn atrun_capture(&mut self, instance: u8, bytes: Vec<u8>) {
        match self.atrun_reserver(instance) {
            Some(Service::Sms) => match self.atrun.sms.job.as_mut().filter(|j| j.running) {
                Some(job) => {
                    // Fifteen SMS hold at most 15 × 160 characters: the rest is never sent.
                    let room =
                        (self.profile.atrun.max_reply_parts * 160).saturating_sub(job.output.len());
                    job.output
                        .extend_from_slice(&bytes[..bytes.len().min(room)]);
                }
                None => self.explain(format!(
                    "{} bytes of SMS ATRUN's instance {instance} dropped: no request runs",
                    bytes.len()
                )),
            },
            Some(Service::Tcp) => self.tcp_atrun_output(bytes),
            None => {}
        }
    }

    /// Queues `line` for the service's instance, after the service's `#ATRUNDELAY`.
    pub(crate) fn atrun_start_job(&mut self, service: Service, line: Vec<u8>) {
        let delay_s = match service {
            Service::Sms => self.atrun.nvm.sms_delay_s,
            Service::Tcp => self.atrun.nvm.tcp_delay_s,
        };
        let text = String::from_utf8_lossy(&line).into_owned();
        if let Some(suggested) = rules::suggested_delay(service, &line)
            && suggested > delay_s
        {
            self.explain(format!(
                "{}: the application note suggests #ATRUNDELAY {} s before {text} (now {delay_s} s)",
                service_name(service),
                suggested
            ));
        }
        let job = Job::new(line);
        match service {
            Service::Sms => self.atrun.sms.job = Some(job),
            Service::Tcp => self.atrun.tcp.job = Some(job),
        }
        if delay_s == 0 {
            self.atrun_run_job(service);
        } else {
            self.explain(format!(
                "{}: {text} runs after #ATRUNDELAY {delay_s} s",
                service_name(service)
            ));
            self.schedule(u64::from(delay_s) * 1000, TimerKind::AtrunDelay(service));
        }
    }

    /// `#ATRUNDELAY` passed (or was 0): the instance takes the line.
    pub(crate) fn atrun_run_job(&mut self, service: Service) {
        let Some(instance) = self.atrun.nvm.instance_of(service) else {
            return;
        };
        let Some(job) = self.atrun.job_mut(service) else {
            return;
        };
        if job.running {
            return;
        }
        job.running = true;
        let mut line = job.line.clone();
        let minutes = timeout_min(&self.atrun.nvm, service);
        self.explain(format!(
            "{} runs {} on instance {instance} (it may take {minutes} min before the module reboots)",
            service_name(service),
            String::from_utf8_lossy(&line)
        ));
        self.cancel_timers(TimerKind::AtrunTimeout(service));
        self.schedule(
            u64::from(minutes) * 60_000,
            TimerKind::AtrunTimeout(service),
        );
        let verdict = self.atrun_verdict(service, &line);
        if let Some(job) = self.atrun.job_mut(service) {
            job.block_after = verdict.block_after;
        }
        if verdict.no_reply {
            self.atrun.sms.no_reply = true;
        }
        match verdict.instead {
            Some(Instead::Skip) => {
                // Ends at once: the instance stays idle and the reply, if any, is empty.
                self.atrun.sms.no_reply = true;
            }
            Some(Instead::Error) => {
                if let Some(job) = self.atrun.job_mut(service) {
                    job.failed = true;
                }
                self.on_instance(instance, |m| {
                    let code = m.error_result(&crate::commands::CmdError::Plain);
                    m.write_result(&code);
                });
            }
            None => {
                line.push(b'\r');
                self.on_instance(instance, |m| m.feed_dte(line));
            }
        }
        self.atrun_check_done();
    }

    /// Bytes straight to a service's instance (a prompt's payload, online data).
    pub(crate) fn atrun_feed_raw(&mut self, instance: u8, bytes: Vec<u8>) {
        self.on_instance(instance, |m| m.feed_dte(bytes));
    }

    /// A command line ended on the running instance: a service's line records whether it
    /// was refused.
    pub(crate) fn atrun_line_ended(&mut self, ok: bool) {
        let Some(service) = self.atrun_reserver(self.instance()) else {
            return;
        };
        if let Some(job) = self.atrun.job_mut(service).filter(|j| j.running) {
            job.failed |= !ok;
        }
    }

    /// Whether `instance` has finished its line: command mode, no result outstanding.
    pub(crate) fn atrun_instance_idle(&mut self, instance: u8) -> bool {
        self.on_instance(instance, |m| {
            m.port_mode == PortMode::Command && m.awaiting.is_none()
        })
    }

    /// Whether `instance` waits at a prompt for its payload.
    pub(crate) fn atrun_instance_at_prompt(&mut self, instance: u8) -> bool {
        self.on_instance(instance, |m| matches!(m.port_mode, PortMode::Prompt(_)))
    }

    /// Whether `instance` is in data mode (a data call or an online socket).
    pub(crate) fn atrun_instance_in_data_mode(&mut self, instance: u8) -> bool {
        self.on_instance(instance, |m| m.in_data_mode())
    }

    /// After anything happened: a running line that has its final result is done.
    pub(crate) fn atrun_check_done(&mut self) {
        for service in [Service::Sms, Service::Tcp] {
            let Some(instance) = self.atrun.nvm.instance_of(service) else {
                continue;
            };
            if !self.atrun.job(service).is_some_and(|j| j.running) {
                continue;
            }
            if service == Service::Sms && self.atrun_instance_at_prompt(instance) {
                self.sms_atrun_prompt_refused(instance);
                continue;
            }
            if !self.atrun_instance_idle(instance) {
                continue;
            }
            if self.atrun.blocked(service) == Some(Blocked::UntilTimeout) {
                // The command never ends: only the per-command timeout gets out (S3).
                continue;
            }
            let sets_block = self
                .atrun
                .job(service)
                .and_then(|j| j.block_after.filter(|_| !j.failed));
            if let Some((Blocked::UntilTimeout, row)) = sets_block {
                self.atrun_block(service, Blocked::UntilTimeout, row);
                continue;
            }
            self.cancel_timers(TimerKind::AtrunTimeout(service));
            let job = match service {
                Service::Sms => self.atrun.sms.job.take(),
                Service::Tcp => self.atrun.tcp.job.take(),
            };
            let Some(job) = job else { continue };
            if let Some((blocked, row)) = job.block_after.filter(|_| !job.failed) {
                self.atrun_block(service, blocked, row);
            } else if let Some((_, row)) = job.block_after {
                self.explain(format!(
                    "{}: the command of table B.19 row {row} was refused, so it blocks nothing",
                    service_name(service)
                ));
            }
            if service == Service::Tcp {
                self.atrun_unblock_sms_via_tcp(&job.line);
            }
            match service {
                Service::Sms => self.sms_atrun_done(job),
                Service::Tcp => self.tcp_atrun_done(job),
            }
        }
    }

    /// A command ran past the service's timeout: the module reboots (B.3, B.7).
    pub(crate) fn atrun_timed_out(&mut self, service: Service) {
        let minutes = timeout_min(&self.atrun.nvm, service);
        let line = self
            .atrun
            .job(service)
            .map(|j| String::from_utf8_lossy(&j.line).into_owned())
            .unwrap_or_default();
        self.explain(format!(
            "{}: {line} still runs after {minutes} min → the module reboots",
            service_name(service)
        ));
        self.reboot_requested = false;
        self.power_on();
    }

    /// What tables B.18/B.19 say of `line` about to run through `service`: each matching
    /// row is explained (its note), and the strongest block wins.
    fn atrun_verdict(&mut self, service: Service, line: &[u8]) -> Verdict {
        use rules::{Effect, Requirement};
        let mut verdict = Verdict::default();
        let mut strongest: Option<(u8, Blocked, &'static str)> = None;
        for rule in rules::rules_for(service, line) {
            self.explain(format!(
                "{} table B.19 row {}: {}",
                service_name(service),
                rule.id,
                rule.note
            ));
            let block = match rule.effect {
                Effect::NoReply => {
                    verdict.no_reply = true;
                    None
                }
                Effect::NeedsPrompt => {
                    verdict.instead = Some(Instead::Skip);
                    None
                }
                Effect::BlockedUntilTimeoutReboot => Some(Blocked::UntilTimeout),
                Effect::BlockedIrreversibly => Some(Blocked::ForGood),
                Effect::BlockedUntilRunViaTcp { unblocked_by } => {
                    Some(Blocked::UntilRunViaTcp(unblocked_by))
                }
                Effect::ErrorIfDataCall => {
                    let data_call = (1..=self.config.instances)
                        .any(|n| self.port_view(n).data_link)
                        || self.call.is_some();
                    if data_call {
                        verdict.instead = Some(Instead::Error);
                    }
                    None
                }
                Effect::Requires { all } => {
                    let c = &self.atrun.nvm.tcp;
                    let cid = self.telit.config(c.conn_id.clamp(1, 6) as usize).cid;
                    let met = all.iter().all(|r| match r {
                        Requirement::ConnIdNotInstance => c.conn_id != u32::from(c.instance),
                        Requirement::InstanceOne => c.instance == 1,
                        Requirement::SocketCidNotOne => cid != 1,
                        Requirement::ConnIdNotOne => c.conn_id != 1,
                    });
                    if !met {
                        verdict.instead = Some(Instead::Error);
                    }
                    None
                }
                // FDN is not emulated (`+CLCK="FD"` answers an error); the others show by
                // themselves: a data call's reply waits for its end, long replies are cut,
                // legacy commands act on the socket numbered as the instance.
                Effect::BlockedUntilFdnOff
                | Effect::ReplyAfterHangUp
                | Effect::TruncatedTo15Sms
                | Effect::ChangesServiceSocketIfConnIdIsInstance
                | Effect::BufferedMayBeTruncated
                | Effect::SuggestedDelay { .. } => None,
            };
            if let (Some(blocked), Some(strength)) = (block, rule.effect.block_strength())
                && strongest.is_none_or(|(s, ..)| strength > s)
            {
                strongest = Some((strength, blocked, rule.id));
            }
        }
        verdict.block_after = strongest.map(|(_, blocked, row)| (blocked, row));
        verdict
    }

    /// A command through TCP ATRUN lifts an SMS ATRUN block that names it (S5, S6).
    fn atrun_unblock_sms_via_tcp(&mut self, line: &[u8]) {
        let Some(Blocked::UntilRunViaTcp(names)) = self.atrun.sms.blocked else {
            return;
        };
        let parsed = crate::at::parse_line(line);
        let lifts = parsed
            .commands
            .iter()
            .any(|c| names.iter().any(|n| rules::matches(n, c)));
        if lifts {
            self.explain("SMS ATRUN unblocked: the command ran through TCP ATRUN");
            self.atrun.sms.blocked = None;
            self.sms_atrun_next();
        }
    }

    /// `service` takes no more requests for now (B.19 row `row`).
    fn atrun_block(&mut self, service: Service, blocked: Blocked, row: &str) {
        if self.atrun.blocked(service) == Some(Blocked::ForGood) {
            return;
        }
        let strongest = blocked;
        let until = match strongest {
            Blocked::UntilTimeout => "until the per-command timeout reboots the module",
            Blocked::ForGood => "for good (disable and enable it again locally)",
            Blocked::UntilRunViaTcp(_) => "until the setting is changed back through TCP ATRUN",
        };
        self.explain(format!(
            "{} blocked {until} (application note table B.19, row {row})",
            service_name(service)
        ));
        match service {
            Service::Sms => self.atrun.sms.blocked = Some(strongest),
            Service::Tcp => self.atrun.tcp.blocked = Some(strongest),
        }
        if strongest == Blocked::ForGood {
            match service {
                Service::Sms => self.atrun.nvm.sms_blocked_for_good = true,
                Service::Tcp => self.atrun.nvm.tcp_blocked_for_good = true,
            }
            self.atrun_save();
        }
    }
}

impl Atrun {
    /// Why `service` takes no requests now, if it does not.
    pub(crate) fn blocked(&self, service: Service) -> Option<Blocked> {
        match service {
            Service::Sms => self.sms.blocked,
            Service::Tcp => self.tcp.blocked,
        }
    }
}
