//! `+CMUX`: switches the physical port to the 27.010 multiplexer (basic option, mode 0 only)
//! with DLCI 1..3 as the AT instances; only instance 1 owns the physical port.

use super::{CmdError, CmdResult, Done, at_most, int_param, required_int};
use crate::at::{Command, Form};
use crate::modem::Modem;

pub fn cmux(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        // [UNSURE] test text: the ranges of the only mode and subset supported.
        Form::Test => {
            modem.info.push("+CMUX: (0),(0)".into());
            Ok(Done::Ok)
        }
        Form::Read => {
            modem.info.push("+CMUX: 0,0".into());
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 2)?;
            required_int(command, 0, 0, 0)?;
            int_param(command, 1, 0, 0)?;
            if modem.instance() != 1 || modem.mux.is_some() {
                modem.explain("+CMUX only on instance 1's physical port, and only once");
                return Err(CmdError::Cme(3));
            }
            modem.mux_requested = true;
            Ok(Done::Ok)
        }
        _ => Err(CmdError::UnsupportedForm),
    }
}
