//! The modem's SMS side: message storage (SM/ME), +CNMI routing of what the network delivers,
//! +CNMA acknowledgement, and the message reference of what it sends.

use super::Modem;
use crate::network::sms::Incoming;

impl Modem {
    /// The network hands over a message or status report.
    pub(crate) fn sms_from_network(&mut self, incoming: Incoming) {
        let _ = incoming;
    }
}
