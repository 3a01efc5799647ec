//! The README's supported-command table must be the command table, row for row.
//! On a mismatch the test prints the table to paste between the markers.

#[test]
fn readme_command_table_matches_the_command_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let begin = "<!-- commands:begin -->\n";
    let end = "<!-- commands:end -->";
    let start = readme.find(begin).expect("begin marker") + begin.len();
    let stop = readme.find(end).expect("end marker");
    let expected = simodem::commands::markdown_table();
    assert!(
        readme[start..stop] == expected,
        "README command table is out of date; replace it with:\n{expected}"
    );
}
