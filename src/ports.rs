//! Port ranges and port sets: the `443,1020-1025` lists of rule parameters and the
//! `fromPort`/`toPort` intervals of permissions, with the set operations the checks need.

use std::fmt;

/// An inclusive interval of ports. `PortRange::ALL` is what an absent port range means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    pub from: u16,
    pub to: u16,
}

impl PortRange {
    /// Every port, 0-65535.
    pub const ALL: PortRange = PortRange {
        from: 0,
        to: u16::MAX,
    };

    /// A range, or `None` when `from > to`.
    pub fn new(from: u16, to: u16) -> Option<Self> {
        (from <= to).then_some(PortRange { from, to })
    }

    pub fn single(port: u16) -> Self {
        PortRange {
            from: port,
            to: port,
        }
    }

    pub fn contains(&self, port: u16) -> bool {
        self.from <= port && port <= self.to
    }

    pub fn covers(&self, other: &PortRange) -> bool {
        self.from <= other.from && other.to <= self.to
    }

    pub fn intersect(&self, other: &PortRange) -> Option<PortRange> {
        PortRange::new(self.from.max(other.from), self.to.min(other.to))
    }

    pub fn is_all(&self) -> bool {
        *self == PortRange::ALL
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}-{}", self.from, self.to)
        }
    }
}

/// A set of ports kept as sorted, merged, non-adjacent ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortSet {
    ranges: Vec<PortRange>,
}

impl PortSet {
    pub fn empty() -> Self {
        PortSet::default()
    }

    pub fn from_ranges(ranges: impl IntoIterator<Item = PortRange>) -> Self {
        let mut ranges: Vec<PortRange> = ranges.into_iter().collect();
        ranges.sort();
        let mut merged: Vec<PortRange> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(last) if u32::from(r.from) <= u32::from(last.to) + 1 => {
                    last.to = last.to.max(r.to)
                }
                _ => merged.push(r),
            }
        }
        PortSet { ranges: merged }
    }

    /// Parses `"80,443,1020-1025"`; `none` (or `""`) is the empty set. Blank items are ignored.
    /// The error is a sentence about the offending item, for the caller to put a field name on.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().eq_ignore_ascii_case("none") {
            return Ok(PortSet::empty());
        }
        let mut ranges = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let range = match item.split_once('-') {
                Some((a, b)) => {
                    let (from, to) = (parse_port(a.trim())?, parse_port(b.trim())?);
                    PortRange::new(from, to).ok_or_else(|| {
                        format!("range `{item}` starts after it ends; write it as `{to}-{from}`")
                    })?
                }
                None => PortRange::single(parse_port(item)?),
            };
            ranges.push(range);
        }
        Ok(PortSet::from_ranges(ranges))
    }

    pub fn ranges(&self) -> &[PortRange] {
        &self.ranges
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn contains(&self, port: u16) -> bool {
        self.ranges.iter().any(|r| r.contains(port))
    }

    /// The parts of `range` that are in this set.
    pub fn intersect(&self, range: &PortRange) -> Vec<PortRange> {
        self.ranges
            .iter()
            .filter_map(|r| r.intersect(range))
            .collect()
    }

    /// The parts of `range` that are *not* in this set.
    pub fn subtract_from(&self, range: &PortRange) -> Vec<PortRange> {
        let mut out = Vec::new();
        let mut next = u32::from(range.from);
        for r in self.ranges.iter().filter_map(|r| r.intersect(range)) {
            if u32::from(r.from) > next {
                out.push(PortRange {
                    from: next as u16,
                    to: r.from - 1,
                });
            }
            next = u32::from(r.to) + 1;
        }
        if next <= u32::from(range.to) {
            out.push(PortRange {
                from: next as u16,
                to: range.to,
            });
        }
        out
    }
}

impl fmt::Display for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_joined(f, &self.ranges, ",")
    }
}

/// Writes `items` separated by `sep`.
pub(crate) fn write_joined<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
    sep: &str,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

fn parse_port(text: &str) -> Result<u16, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{text}` is not a port number (expected 0-65535)"));
    }
    text.parse::<u16>()
        .map_err(|_| format!("`{text}` is out of range (ports are 0-65535)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(from: u16, to: u16) -> PortRange {
        PortRange::new(from, to).unwrap()
    }

    #[test]
    fn parses_lists_and_ranges() {
        let cases: &[(&str, &[(u16, u16)])] = &[
            ("", &[]),
            ("80", &[(80, 80)]),
            ("443, 80", &[(80, 80), (443, 443)]),
            ("443,1020-1025", &[(443, 443), (1020, 1025)]),
            ("1-5,3-9,10", &[(1, 10)]),
            ("0-65535", &[(0, 65535)]),
            (" 22 ,, 3389 ", &[(22, 22), (3389, 3389)]),
        ];
        for (text, want) in cases {
            let got = PortSet::parse(text).unwrap();
            let want: Vec<_> = want.iter().map(|&(a, b)| r(a, b)).collect();
            assert_eq!(got.ranges(), want.as_slice(), "{text}");
        }
    }

    #[test]
    fn rejects_bad_ports_with_the_value() {
        for (text, needle) in [
            ("8o", "`8o` is not a port"),
            ("70000", "`70000` is out of range"),
            ("-5", "`` is not a port"),
            ("25-20", "starts after it ends"),
            ("1-2-3", "`2-3` is not a port"),
        ] {
            let err = PortSet::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn subtract_and_intersect_at_boundaries() {
        let set = PortSet::parse("80,443").unwrap();
        assert_eq!(
            set.subtract_from(&PortRange::ALL),
            vec![r(0, 79), r(81, 442), r(444, 65535)]
        );
        assert_eq!(set.subtract_from(&r(80, 80)), vec![]);
        assert_eq!(set.subtract_from(&r(79, 81)), vec![r(79, 79), r(81, 81)]);
        assert_eq!(set.intersect(&r(0, 100)), vec![r(80, 80)]);
        assert_eq!(
            PortSet::parse("0-65535")
                .unwrap()
                .subtract_from(&PortRange::ALL),
            vec![]
        );
        assert_eq!(PortSet::empty().subtract_from(&r(5, 6)), vec![r(5, 6)]);
    }

    #[test]
    fn display_round_trips() {
        let set = PortSet::parse("1020-1025,443").unwrap();
        assert_eq!(set.to_string(), "443,1020-1025");
        assert_eq!(PortSet::parse(&set.to_string()).unwrap(), set);
    }
}
