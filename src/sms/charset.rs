//! The text-mode character sets of `+CSCS` (GSM, IRA, HEX, UCS2, 8859-1): what the client
//! types after `+CMGS=` into text, and text back into what `+CMGR`/`+CMGL`/`+CMT` print.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Gsm,
    Ira,
    Hex,
    Ucs2,
    Latin1,
    Pccp437,
}

impl Charset {
    pub fn from_name(name: &str) -> Option<Charset> {
        todo!("{name}")
    }
}

#[allow(clippy::result_unit_err)]
pub fn te_to_text(input: &[u8], charset: Charset) -> Result<String, ()> {
    todo!("{input:?}{charset:?}")
}

pub fn text_to_te(text: &str, charset: Charset) -> String {
    todo!("{text}{charset:?}")
}
