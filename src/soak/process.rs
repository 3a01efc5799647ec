//! What the soak measures about its own process: open descriptors, resident memory and
//! threads, read from `/proc/self` (Linux).

/// One look at the process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    pub fds: usize,
    pub rss_kib: u64,
    pub threads: u64,
}

/// Descriptors, RSS and threads now; zeros where `/proc` cannot be read.
pub fn sample() -> Sample {
    let fds = std::fs::read_dir("/proc/self/fd")
        // The directory being read holds a descriptor of its own.
        .map(|dir| dir.count().saturating_sub(1))
        .unwrap_or(0);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Sample {
        fds,
        rss_kib: field("VmRSS:"),
        threads: field("Threads:"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_sees_this_process() {
        let s = sample();
        assert!(s.fds >= 3, "{s:?}");
        assert!(s.rss_kib > 0, "{s:?}");
        assert!(s.threads >= 1, "{s:?}");
    }
}
