//! Telit `#MONI`, the cell monitor: the serving cell and its six neighbours as the module
//! measures them, one cell per line or all seven as a table (Telit AT reference §3.5.7.1.38).

use super::{CmdError, CmdResult, Done, at_most, int_param};
use crate::at::{Command, Form};
use crate::modem::{Modem, Service};

/// `<MaxCellNo>` of `AT#MONI=?` under `#SELINT=2`: "the neighbour list of the serving cell
/// excluding it … This value is always 6" ([DOC] 80000ST10025a r10 p. 320).
const MAX_NEIGHBOURS: u32 = 6;

/// `AT#MONI=7`: every cell at once, as a table.
const WHOLE_TABLE: u32 = 7;

/// What a cell nobody measured shows: the power of the empty rows of a real `#MONI=7` table
/// (`N2 FF FFFF 0000 688 -111dbm -1 -1`, [OBS] capture of a GE865 table in a public
/// project) [INFERRED for a serving cell out of coverage].
const NOT_MEASURED_DBM: i32 = -111;

/// RXLEV_ACCESS_MIN behind C1 = RXLEV − RXLEV_ACCESS_MIN (3GPP 45.008; C2 = C1 without a
/// reselection offset). 7 reproduces the [OBS] capture's `-84dbm 19 19` and `-94dbm 9 9`
/// [INFERRED as a constant of the emulated network].
const RXLEV_ACCESS_MIN: i32 = 7;

/// Timing advance: "meaningful only during calls or GPRS transfers" ([DOC]); the [OBS]
/// captures of an idle module print `TA:0`. simodem's cells are all at distance 0.
const TIMING_ADVANCE: u32 = 0;

/// The GSM 900 channels 1..=124 simodem puts its cells on [INFERRED].
const ARFCN_COUNT: u32 = 124;

/// The emulated BA list: how each neighbour N1..N6 differs from the serving cell
/// [INFERRED: two measured neighbours in the same location area, four empty slots, as in the
/// [OBS] table captures where most rows read `FF FFFF 0000`].
const NEIGHBOURS: [Neighbour; 6] = [
    Neighbour {
        measured: Some((1, 6)),
        arfcn_step: 7,
    },
    Neighbour {
        measured: Some((2, 10)),
        arfcn_step: 12,
    },
    Neighbour {
        measured: None,
        arfcn_step: 3,
    },
    Neighbour {
        measured: None,
        arfcn_step: 18,
    },
    Neighbour {
        measured: None,
        arfcn_step: 25,
    },
    Neighbour {
        measured: None,
        arfcn_step: 31,
    },
];

/// One neighbour of the emulated BA list.
struct Neighbour {
    /// Its cell id's distance from the serving cell's and how many dB weaker it is; `None`:
    /// a channel in the list with no cell decoded on it.
    measured: Option<(u16, i32)>,
    /// Its channel's distance from the serving cell's.
    arfcn_step: u32,
}

/// One cell as `#MONI` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CellReport {
    /// Base station identity code, 0..=63; `None` for an empty slot (`FF`).
    pub bsic: Option<u8>,
    pub lac: u16,
    pub cell_id: u16,
    pub arfcn: u32,
    /// Received level in dBm; `None` when nothing was measured.
    pub dbm: Option<i32>,
}

impl CellReport {
    /// `<bsic>` as the module prints it: NCC then BCC, one octal digit each (every [OBS]
    /// and [DOC] value — 70, 75, 73, 51, 42, 17 — has both digits below 8) [INFERRED].
    fn bsic_text(&self) -> String {
        match self.bsic {
            Some(bsic) => format!("{}{}", (bsic >> 3) & 7, bsic & 7),
            None => "FF".into(),
        }
    }

    fn lac_text(&self) -> String {
        match self.bsic {
            Some(_) => format!("{:04X}", self.lac),
            None => "FFFF".into(),
        }
    }

    fn id_text(&self) -> String {
        match self.bsic {
            Some(_) => format!("{:04X}", self.cell_id),
            None => "0000".into(),
        }
    }

    fn power_text(&self) -> String {
        format!("{}dbm", self.dbm.unwrap_or(NOT_MEASURED_DBM))
    }

    /// C1 and C2 (equal: no reselection offset); -1 when nothing was measured.
    fn c1_c2(&self) -> (i32, i32) {
        match (self.bsic, self.dbm) {
            (Some(_), Some(dbm)) => {
                let c1 = (dbm + 110).clamp(0, 63) - RXLEV_ACCESS_MIN;
                (c1, c1)
            }
            _ => (-1, -1),
        }
    }
}

/// The serving cell's name in `#MONI` lines: the operator when registered, else
/// `Cc:<mcc> Nc:<mnc>` ([DOC] format b, "when the network name is unknown").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NetName {
    Known(String),
    Codes { cc: String, nc: String },
}

/// The serving line (`AT#MONI` after `#MONI=0`), format a) or b) of the reference. The
/// reference's syntax line reads `PWR:<dBm> dBm TA: <timadv>`, but its own example and every
/// [OBS] capture print `PWR:-83dbm TA:1` — lower case, no spaces; simodem prints what
/// modules print.
pub(crate) fn serving_line(name: &NetName, rx_qual: u32, cell: &CellReport) -> String {
    let name = match name {
        NetName::Known(name) => name.clone(),
        NetName::Codes { cc, nc } => format!("Cc:{cc} Nc:{nc}"),
    };
    format!(
        "#MONI: {name} BSIC:{} RxQual:{rx_qual} LAC:{} Id:{} ARFCN:{} PWR:{} TA:{TIMING_ADVANCE}",
        cell.bsic_text(),
        cell.lac_text(),
        cell.id_text(),
        cell.arfcn,
        cell.power_text()
    )
}

/// A neighbour's line (`AT#MONI` after `#MONI=1..6`), format c): `LAC`/`Id` only when a
/// cell was decoded on the channel (the reference's `[LAC:<lac> Id:<id>]`).
pub(crate) fn neighbour_line(number: usize, cell: &CellReport) -> String {
    let identity = match cell.bsic {
        Some(_) => format!("LAC:{} Id:{} ", cell.lac_text(), cell.id_text()),
        None => String::new(),
    };
    format!(
        "#MONI: Adj Cell{number} {identity}ARFCN:{} PWR:{}",
        cell.arfcn,
        cell.power_text()
    )
}

/// The table's title row (`AT#MONI` after `#MONI=7`), spaced as the [OBS] capture of a real
/// module (the reference's PDF loses the spacing).
pub(crate) const TABLE_HEADER: &str =
    "#MONI: Cell  BSIC  LAC  CellId  ARFCN    Power  C1  C2  TA  RxQual  PLMN";

/// The table's `S` row: right-aligned columns as the [OBS] capture
/// (`#MONI:  S    42  00FD   8AF3     686   -84dbm  19  19   0     0    T-Mobile`).
pub(crate) fn table_serving_row(plmn: &str, rx_qual: u32, cell: &CellReport) -> String {
    format!(
        "{}{:>4}{:>6}    {plmn}",
        table_row("S", cell),
        TIMING_ADVANCE,
        rx_qual
    )
}

/// A table's `N<n>` row: the serving row's first eight columns.
pub(crate) fn table_neighbour_row(number: usize, cell: &CellReport) -> String {
    table_row(&format!("N{number}"), cell)
}

/// The eight columns every table row has: name, BSIC, LAC, cell id, ARFCN, power, C1, C2.
fn table_row(name: &str, cell: &CellReport) -> String {
    let (c1, c2) = cell.c1_c2();
    format!(
        "#MONI: {:>2}{:>6}{:>6}{:>7}{:>8}{:>9}{:>4}{:>4}",
        name,
        cell.bsic_text(),
        cell.lac_text(),
        cell.id_text(),
        cell.arfcn,
        cell.power_text(),
        c1,
        c2
    )
}

/// The serving cell and its neighbours as the modem's network view has them: LAC, cell id
/// and level (`+CSQ` rssi → −113 + 2·rssi dBm) from the world; BSIC and channel derived from
/// the cell id so a cell change changes them too [INFERRED].
fn cells(modem: &Modem) -> (CellReport, Vec<CellReport>) {
    let network = &modem.config.network;
    let measured = modem.radio.cfun == 1 && network.service != Service::None && network.rssi <= 31;
    let dbm = measured.then(|| -113 + 2 * network.rssi as i32);
    let arfcn = 1 + u32::from(network.cell_id) % ARFCN_COUNT;
    let bsic = (network.cell_id % 64) as u8;
    let serving = CellReport {
        bsic: Some(bsic),
        lac: network.lac,
        cell_id: network.cell_id,
        arfcn,
        dbm,
    };
    let neighbours = NEIGHBOURS
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let arfcn = 1 + (arfcn - 1 + n.arfcn_step) % ARFCN_COUNT;
            match (n.measured, dbm) {
                (Some((id_step, below_db)), Some(dbm)) => CellReport {
                    bsic: Some((bsic + 1 + i as u8) % 64),
                    lac: network.lac,
                    cell_id: network.cell_id.wrapping_add(id_step),
                    arfcn,
                    dbm: Some(dbm - below_db),
                },
                _ => CellReport {
                    bsic: None,
                    lac: 0,
                    cell_id: 0,
                    arfcn,
                    dbm: None,
                },
            }
        })
        .collect();
    (serving, neighbours)
}

/// The serving cell's name: the operator's long name once registered, the country and
/// network codes otherwise.
fn net_name(modem: &Modem) -> NetName {
    let network = &modem.config.network;
    if modem.radio.is_registered(network) && !network.operator_long.is_empty() {
        return NetName::Known(network.operator_long.clone());
    }
    let numeric = &network.operator_numeric;
    NetName::Codes {
        cc: numeric.get(..3).unwrap_or(numeric).to_string(),
        nc: numeric.get(3..).unwrap_or("").to_string(),
    }
}

/// `AT#MONI[=[<number>]]`: `=<n>` chooses the cell (0 serving, 1..6 a neighbour, 7 all; an
/// empty value is 0), `AT#MONI` reports it, `=?` prints `#MONI: (6,<CellSet>)`. `#SELINT=2`
/// has no read form ([DOC]: `AT#MONI?` is SELINT 0/1 only): `ERROR`.
pub fn moni(modem: &mut Modem, command: &Command) -> CmdResult {
    match command.form {
        Form::Test => {
            let line = format!("#MONI: ({MAX_NEIGHBOURS},{})", modem.radio.moni_cell);
            modem.info.push(line);
            Ok(Done::Ok)
        }
        Form::Set(_) => {
            at_most(command, 1)?;
            modem.radio.moni_cell = int_param(command, 0, 0, WHOLE_TABLE)?.unwrap_or(0);
            Ok(Done::Ok)
        }
        Form::Action => {
            let lines = report(modem);
            modem.info.extend(lines);
            Ok(Done::Ok)
        }
        _ => {
            modem.explain("AT#MONI? is a #SELINT 0/1 form; #SELINT 2 answers ERROR");
            Err(CmdError::UnsupportedForm)
        }
    }
}

/// The lines `AT#MONI` prints for the chosen cell.
fn report(modem: &Modem) -> Vec<String> {
    let (serving, neighbours) = cells(modem);
    let ber = modem.config.network.ber;
    let rx_qual = if ber <= 7 { ber } else { 0 };
    let name = net_name(modem);
    match modem.radio.moni_cell {
        0 => vec![serving_line(&name, rx_qual, &serving)],
        WHOLE_TABLE => {
            let plmn = match &name {
                NetName::Known(name) => name.clone(),
                NetName::Codes { cc, nc } => format!("{cc}{nc}"),
            };
            let mut lines = vec![
                TABLE_HEADER.to_string(),
                table_serving_row(&plmn, rx_qual, &serving),
            ];
            lines.extend(
                neighbours
                    .iter()
                    .enumerate()
                    .map(|(i, cell)| table_neighbour_row(i + 1, cell)),
            );
            lines
        }
        n => {
            let index = n as usize;
            neighbours
                .get(index - 1)
                .map(|cell| vec![neighbour_line(index, cell)])
                .unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(bsic: Option<u8>, lac: u16, id: u16, arfcn: u32, dbm: Option<i32>) -> CellReport {
        CellReport {
            bsic,
            lac,
            cell_id: id,
            arfcn,
            dbm,
        }
    }

    #[test]
    fn the_table_rows_reproduce_a_real_modules_spacing() {
        // The [OBS] capture: BSIC 42 octal = 34, LAC 00FD, cell 8AF3, ARFCN 686, -84 dBm.
        let serving = cell(Some(0o42), 0x00FD, 0x8AF3, 686, Some(-84));
        assert_eq!(
            table_serving_row("T-Mobile", 0, &serving),
            "#MONI:  S    42  00FD   8AF3     686   -84dbm  19  19   0     0    T-Mobile"
        );
        let n1 = cell(Some(0o41), 0x00FD, 0x8AF5, 760, Some(-94));
        assert_eq!(
            table_neighbour_row(1, &n1),
            "#MONI: N1    41  00FD   8AF5     760   -94dbm   9   9"
        );
        let empty = cell(None, 0, 0, 688, None);
        assert_eq!(
            table_neighbour_row(2, &empty),
            "#MONI: N2    FF  FFFF   0000     688  -111dbm  -1  -1"
        );
    }

    #[test]
    fn the_serving_line_reproduces_the_references_example() {
        // "#MONI: I WIND BSIC:70 RxQual:0 LAC:55FA Id:1D23 ARFCN:736 PWR:-83dbm TA:1" but
        // TA 0 (an idle module).
        let serving = cell(Some(0o70), 0x55FA, 0x1D23, 736, Some(-83));
        assert_eq!(
            serving_line(&NetName::Known("I WIND".into()), 0, &serving),
            "#MONI: I WIND BSIC:70 RxQual:0 LAC:55FA Id:1D23 ARFCN:736 PWR:-83dbm TA:0"
        );
        let codes = NetName::Codes {
            cc: "222".into(),
            nc: "10".into(),
        };
        assert_eq!(
            serving_line(&codes, 3, &serving),
            "#MONI: Cc:222 Nc:10 BSIC:70 RxQual:3 LAC:55FA Id:1D23 ARFCN:736 PWR:-83dbm TA:0"
        );
        assert_eq!(
            neighbour_line(1, &cell(Some(0o75), 0x55FA, 0x1297, 983, Some(-78))),
            "#MONI: Adj Cell1 LAC:55FA Id:1297 ARFCN:983 PWR:-78dbm"
        );
        assert_eq!(
            neighbour_line(4, &cell(None, 0, 0, 751, None)),
            "#MONI: Adj Cell4 ARFCN:751 PWR:-111dbm"
        );
    }
}
