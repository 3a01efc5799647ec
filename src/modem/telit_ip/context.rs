//! Context activation for IP Easy: `#SGACT`, `#GPRS`, `+CGACT`, auto-activation (`#SGACTCFG`)
//! and what a context going down does to the sockets using it.

use std::net::{IpAddr, Ipv4Addr};

use super::super::sockets::Resolution;
use super::super::{Modem, TimerKind};
use super::{Activation, CIDS, TelitDns};
use crate::commands::CmdError;
use crate::dte::ResultCode;

impl Modem {
    /// Context `cid` went down (deactivated, network loss): its sockets close.
    pub(crate) fn telit_context_down(&mut self, cid: u32) {
        if let Some(context) = self.telit.context_mut(cid) {
            context.active = None;
        }
        self.telit_sockets_lost_context(cid);
    }

    /// Whether GPRS service is there (registered and attached).
    pub(crate) fn telit_packet_service(&self) -> bool {
        matches!(self.radio.cgreg_stat(&self.config.network), 1 | 5)
    }

    /// The address the network gives context `cid`: the configured PDP address for cid 1,
    /// the next ones (last octet + cid - 1) for the others.
    pub(crate) fn telit_context_address(&self, cid: u32) -> Ipv4Addr {
        let [a, b, c, d] = self.config.pdp_address.octets();
        let offset = u8::try_from(cid.saturating_sub(1)).unwrap_or(0);
        Ipv4Addr::new(a, b, c, d.wrapping_add(offset))
    }

    /// Brings context `cid` up as `how` says, or tells why not. The caller has checked the
    /// socket binding and that the context is not up yet.
    pub(crate) fn telit_activate(
        &mut self,
        cid: u32,
        how: Activation,
    ) -> Result<Ipv4Addr, CmdError> {
        if self.telit.definition(cid).is_none() {
            self.explain(format!(
                "context {cid} is not defined (+CGDCONT) → activation failed"
            ));
            return Err(CmdError::Cme(555));
        }
        if !self.telit_packet_service() {
            self.explain(format!(
                "context {cid}: no GPRS service (not registered or not attached) → activation failed"
            ));
            return Err(CmdError::Cme(555));
        }
        let limit = self.profile.telit_ip.max_active_contexts;
        if self.telit.active_contexts() >= limit {
            self.explain(format!(
                "context {cid}: {limit} contexts are already active, the most the module has"
            ));
            return Err(CmdError::Cme(self.profile.telit_ip.context_limit_error));
        }
        let ip = self.telit_context_address(cid);
        if let Some(context) = self.telit.context_mut(cid) {
            context.active = Some((ip, how));
        }
        let auth = match self.telit.auth_type {
            0 => "no authentication",
            2 => "CHAP",
            _ => "PAP",
        };
        let usable = match how {
            Activation::IpEasy => "usable by IP Easy sockets",
            Activation::Cgact => "+CGACT: not usable by IP Easy sockets",
        };
        self.explain(format!(
            "context {cid} active with address {ip} ({auth}; {usable})"
        ));
        if how == Activation::IpEasy {
            self.tcp_atrun_context_up(cid);
        }
        Ok(ip)
    }

    /// GPRS service as `sync_registration` sees it now: an attach starts `#SGACTCFG`
    /// auto-activation, a loss takes every context down.
    pub(crate) fn telit_packet_service_changed(&mut self, up: bool) {
        if up == self.telit.attached {
            return;
        }
        self.telit.attached = up;
        if up {
            self.telit.auto_attempts = [0; CIDS];
            for cid in 1..=CIDS as u32 {
                self.telit_auto_activate(cid);
            }
            return;
        }
        for cid in 1..=CIDS as u32 {
            self.cancel_timers(TimerKind::TelitAutoActivation(cid));
            if self.telit.is_active(cid) {
                self.explain(format!("GPRS service lost: context {cid} is down"));
                self.telit_context_down(cid);
            }
        }
    }

    /// `#SGACTCFG` retry timer of context `cid`.
    pub(crate) fn telit_auto_activation_due(&mut self, cid: u32) {
        if self.telit.attached {
            self.telit_auto_activate(cid);
        }
    }

    /// One automatic activation attempt of context `cid`, if `#SGACTCFG` asks for it and a
    /// socket is bound to it; a failure schedules the next attempt after the delay.
    fn telit_auto_activate(&mut self, cid: u32) {
        let index = cid as usize - 1;
        let config = self.telit.nvm.auto_activation[index];
        if config.retry == 0 || self.telit.is_active(cid) {
            return;
        }
        if !self.telit.socket_bound_to(cid) {
            self.explain(format!(
                "#SGACTCFG: context {cid} not activated automatically, no socket is bound to it"
            ));
            return;
        }
        self.telit.auto_attempts[index] += 1;
        let attempt = self.telit.auto_attempts[index];
        self.explain(format!(
            "#SGACTCFG: automatic activation of context {cid}, attempt {attempt} of {}",
            config.retry
        ));
        match self.telit_activate(cid, Activation::IpEasy) {
            Ok(ip) => {
                self.telit.auto_attempts[index] = 0;
                self.telit_sgact_urc(cid, ip);
            }
            Err(_) if attempt < config.retry => {
                self.explain(format!(
                    "#SGACTCFG: context {cid} tries again in {} s",
                    config.delay_s
                ));
                self.schedule(
                    u64::from(config.delay_s) * 1000,
                    TimerKind::TelitAutoActivation(cid),
                );
            }
            Err(_) => self.explain(format!(
                "#SGACTCFG: context {cid} gives up after {attempt} attempts"
            )),
        }
    }

    /// `#SGACT: <ip>` on every instance whose `#SGACTCFG` urcmode for `cid` is 1.
    fn telit_sgact_urc(&mut self, cid: u32, ip: Ipv4Addr) {
        let index = cid as usize - 1;
        self.on_every_instance(|m| {
            if m.settings.sgact_urc_mode[index] == 1 {
                m.urc(format!("#SGACT: {ip}"));
            }
        });
    }

    /// `#QDNS` asked too long ago: 558, and a late answer is ignored.
    pub(crate) fn telit_qdns_timed_out(&mut self, query: u32) {
        let Some(index) = self.telit.dns_queries.iter().position(|(q, _)| *q == query) else {
            return;
        };
        self.telit.dns_queries.remove(index);
        if self.awaiting == Some(super::super::data_mode::Awaiting::Qdns { query }) {
            self.explain(format!(
                "#QDNS: no answer in {} ms → 558",
                self.profile.telit_ip.qdns_timeout_ms
            ));
            let code = self.error_result(&CmdError::Cme(558));
            self.finish_awaiting(Some(code));
        }
    }

    /// The answer to a DNS query of the IP Easy stack (`#QDNS`).
    pub(crate) fn telit_resolved(&mut self, query: u32, result: Resolution) {
        let Some(index) = self.telit.dns_queries.iter().position(|(q, _)| *q == query) else {
            self.explain(format!("DNS answer {query} for nobody ignored"));
            return;
        };
        let (_, purpose) = self.telit.dns_queries.remove(index);
        self.cancel_timers(TimerKind::QdnsTimeout(query));
        match purpose {
            TelitDns::Qdns(name) => {
                let address = result.ok().and_then(|addresses| {
                    addresses.into_iter().find_map(|a| match a {
                        IpAddr::V4(v4) => Some(v4),
                        IpAddr::V6(_) => None,
                    })
                });
                if self.awaiting != Some(super::super::data_mode::Awaiting::Qdns { query }) {
                    self.explain(format!("#QDNS answer for {name:?} came too late: ignored"));
                    return;
                }
                match address {
                    Some(ip) => {
                        self.explain(format!("#QDNS: {name} is {ip}"));
                        self.write_info(&[format!("#QDNS: \"{name}\",\"{ip}\"")]);
                        self.finish_awaiting(Some(ResultCode::Ok));
                    }
                    None => {
                        self.explain(format!("#QDNS: {name} does not resolve → 558"));
                        let code = self.error_result(&CmdError::Cme(558));
                        self.finish_awaiting(Some(code));
                    }
                }
            }
        }
    }
}
