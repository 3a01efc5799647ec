//! Telit `#MONI` on a virtual clock: the serving cell from the network view, the neighbours,
//! the `#MONI=7` table, the set/test forms, and what a network change does to the report.

use super::Harness;
use crate::modem::*;

const OK: &str = "\r\nOK\r\n";
const ERROR: &str = "\r\nERROR\r\n";

/// A registered Telit named "vodafone IT" (default cell: LAC 1A2B, cell 0C3D, rssi 20), echo
/// off. Cell 0x0C3D = 3133: BSIC 3133 % 64 = 61 = octal 75, ARFCN 1 + 3133 % 124 = 34;
/// rssi 20 = -73 dBm.
fn telit() -> Harness {
    Harness::telit_on("vodafone IT")
}

#[test]
fn moni_reports_the_serving_cell_by_default() {
    let mut h = telit();
    assert_eq!(
        h.cmd("AT#MONI"),
        "\r\n#MONI: vodafone IT BSIC:75 RxQual:0 LAC:1A2B Id:0C3D ARFCN:34 PWR:-73dbm TA:0\r\n\r\nOK\r\n"
    );
}

#[test]
fn moni_7_prints_the_table_of_all_seven_cells() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#MONI=7"), OK);
    assert_eq!(
        h.cmd("AT#MONI"),
        "\r\n#MONI: Cell  BSIC  LAC  CellId  ARFCN    Power  C1  C2  TA  RxQual  PLMN\r\n\
         #MONI:  S    75  1A2B   0C3D      34   -73dbm  30  30   0     0    vodafone IT\r\n\
         #MONI: N1    76  1A2B   0C3E      41   -79dbm  24  24\r\n\
         #MONI: N2    77  1A2B   0C3F      46   -83dbm  20  20\r\n\
         #MONI: N3    FF  FFFF   0000      37  -111dbm  -1  -1\r\n\
         #MONI: N4    FF  FFFF   0000      52  -111dbm  -1  -1\r\n\
         #MONI: N5    FF  FFFF   0000      59  -111dbm  -1  -1\r\n\
         #MONI: N6    FF  FFFF   0000      65  -111dbm  -1  -1\r\n\
         \r\nOK\r\n"
    );
}

#[test]
fn moni_1_to_6_report_one_neighbour_with_lac_and_id_only_when_decoded() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#MONI=1"), OK);
    assert_eq!(
        h.cmd("AT#MONI"),
        "\r\n#MONI: Adj Cell1 LAC:1A2B Id:0C3E ARFCN:41 PWR:-79dbm\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#MONI=4"), OK);
    assert_eq!(
        h.cmd("AT#MONI"),
        "\r\n#MONI: Adj Cell4 ARFCN:52 PWR:-111dbm\r\n\r\nOK\r\n"
    );
    // An empty value is the serving cell again.
    assert_eq!(h.cmd("AT#MONI="), OK);
    assert!(h.cmd("AT#MONI").starts_with("\r\n#MONI: vodafone IT "));
}

#[test]
fn the_test_form_shows_six_neighbours_and_the_choice_and_the_read_form_is_refused() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#MONI=?"), "\r\n#MONI: (6,0)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#MONI=5"), OK);
    assert_eq!(h.cmd("AT#MONI=?"), "\r\n#MONI: (6,5)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#MONI?"), ERROR, "no read form under #SELINT 2");
    for bad in ["AT#MONI=8", "AT#MONI=0,1", "AT#MONI=\"0\"", "AT#MONI=x"] {
        assert_eq!(h.cmd(bad), ERROR, "{bad}");
    }
    assert_eq!(h.cmd("AT#MONI=?"), "\r\n#MONI: (6,5)\r\n\r\nOK\r\n");
}

#[test]
fn a_network_change_shows_in_the_next_report() {
    let mut h = telit();
    h.apply(Input::Network(NetworkChange {
        lac: Some(0x55FA),
        cell_id: Some(0x1D23),
        csq: Some(14),
        ..Default::default()
    }));
    // Cell 0x1D23 = 7459: BSIC 7459 % 64 = 35 = octal 43, ARFCN 1 + 7459 % 124 = 20.
    assert_eq!(
        h.cmd("AT#MONI"),
        "\r\n#MONI: vodafone IT BSIC:43 RxQual:0 LAC:55FA Id:1D23 ARFCN:20 PWR:-85dbm TA:0\r\n\r\nOK\r\n"
    );
}

#[test]
fn out_of_coverage_the_last_cell_shows_with_codes_and_no_measurement() {
    let mut h = telit();
    h.apply(Input::Network(NetworkChange {
        service: Some(Service::None),
        ..Default::default()
    }));
    assert_eq!(
        h.cmd("AT#MONI"),
        "\r\n#MONI: Cc:001 Nc:01 BSIC:75 RxQual:0 LAC:1A2B Id:0C3D ARFCN:34 PWR:-111dbm TA:0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#MONI=2"), OK);
    assert_eq!(
        h.cmd("AT#MONI"),
        "\r\n#MONI: Adj Cell2 ARFCN:46 PWR:-111dbm\r\n\r\nOK\r\n"
    );
}

#[test]
fn the_choice_is_forgotten_at_power_on() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#MONI=7"), OK);
    h.apply(Input::Reboot);
    h.advance(5000);
    assert_eq!(h.send(b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
    assert_eq!(h.cmd("AT#MONI=?"), "\r\n#MONI: (6,0)\r\n\r\nOK\r\n");
}
