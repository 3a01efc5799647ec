//! The application note's tables as data: suggested `#ATRUNDELAY` values (B.18) and the
//! commands that block or limit SMS and TCP ATRUN (B.19).
