//! Context activation for IP Easy: `#SGACT`, `#GPRS`, `+CGACT`, auto-activation (`#SGACTCFG`)
//! and what a context going down does to the sockets using it.

use super::super::Modem;

impl Modem {
    /// Context `cid` went down (deactivated, network loss): its sockets close.
    pub(crate) fn telit_context_down(&mut self, cid: u32) {
        self.telit_sockets_lost_context(cid);
    }
}
