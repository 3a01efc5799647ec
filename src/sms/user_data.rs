//! TP-DCS and TP-UD: alphabets, classes, user data headers (concatenation, ports) and the
//! splitting of long texts into concatenated parts.

use super::PduError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    Gsm7,
    Eight,
    Ucs2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dcs(pub u8);

impl Dcs {
    pub fn alphabet(self) -> Result<Alphabet, PduError> {
        todo!()
    }
    pub fn class(self) -> Option<u8> {
        todo!()
    }
    pub fn for_alphabet(alphabet: Alphabet) -> Dcs {
        todo!("{alphabet:?}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InformationElement {
    pub id: u8,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concat {
    pub reference: u16,
    pub total: u8,
    pub sequence: u8,
    pub wide_reference: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserData {
    pub header: Vec<InformationElement>,
    pub body: Vec<u8>,
}

impl UserData {
    pub fn has_header(&self) -> bool {
        !self.header.is_empty()
    }
    pub fn concat(&self) -> Option<Concat> {
        todo!()
    }
    pub fn ports(&self) -> Option<(u16, u16)> {
        todo!()
    }
    pub fn with_concat(self, c: Concat) -> Self {
        todo!("{c:?}")
    }
    pub fn with_ports(self, dest: u16, orig: u16) -> Self {
        todo!("{dest}{orig}")
    }
    pub fn decode(
        udhi: bool,
        alphabet: Alphabet,
        udl: u8,
        ud: &[u8],
    ) -> Result<UserData, PduError> {
        todo!("{udhi}{alphabet:?}{udl}{ud:?}")
    }
    pub fn encode(&self, alphabet: Alphabet) -> Result<(u8, Vec<u8>), PduError> {
        todo!("{alphabet:?}")
    }
    pub fn text(&self, alphabet: Alphabet) -> Option<String> {
        todo!("{alphabet:?}")
    }
    pub fn from_text(text: &str, alphabet: Alphabet) -> Result<UserData, char> {
        todo!("{text}{alphabet:?}")
    }
}

pub fn split_text(text: &str, alphabet: Alphabet, reference: u8) -> Result<Vec<UserData>, char> {
    todo!("{text}{alphabet:?}{reference}")
}

pub fn split_octets(data: &[u8], reference: u8) -> Vec<UserData> {
    todo!("{data:?}{reference}")
}
