//! IPv4 and IPv6 CIDR blocks, and what a block (minus its exceptions) says about a source
//! address the manifests know only as a set of networks, or not at all.

use super::Tri;
use std::net::IpAddr;

/// An address block: `10.0.0.0/8`, `::/0`; a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    v6: bool,
    /// The address as an integer, its host bits cleared.
    addr: u128,
    len: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let (ip, len) = match text.trim().split_once('/') {
            Some((ip, len)) => (ip, Some(len.parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let (v6, addr, max) = match ip.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => (false, u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (true, u128::from(a), 128),
        };
        let len = len.unwrap_or(max);
        if len > max {
            return None;
        }
        let host_bits = u32::from(max - len);
        let addr = if host_bits >= 128 {
            0
        } else {
            addr >> host_bits << host_bits
        };
        Some(Cidr { v6, addr, len })
    }

    /// `0.0.0.0/0` or `::/0`.
    pub fn is_everything(&self) -> bool {
        self.len == 0
    }

    /// True when every address of `other` is in `self`.
    pub fn contains(&self, other: &Cidr) -> bool {
        self.v6 == other.v6 && self.len <= other.len && self.prefix_of(other.addr)
    }

    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }

    fn prefix_of(&self, addr: u128) -> bool {
        let max = if self.v6 { 128 } else { 32 };
        let host_bits = u32::from(max - self.len);
        host_bits >= 128 || (addr >> host_bits << host_bits) == self.addr
    }
}

/// A block with exceptions, as NetworkPolicy `ipBlock` and Linkerd `NetworkAuthentication`
/// write it (`cidr` minus `except`). Istio's `ipBlocks` have no exceptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub cidr: Cidr,
    pub except: Vec<Cidr>,
}

impl Block {
    /// Parses `cidr` and `except`; `None` when the CIDR does not parse (the API server
    /// rejects such an object).
    pub fn new(cidr: &str, except: &[&str]) -> Option<Block> {
        Some(Block {
            cidr: Cidr::parse(cidr)?,
            except: except.iter().filter_map(|e| Cidr::parse(e)).collect(),
        })
    }

    /// Every address, with no exception: it admits a source whatever its address.
    pub fn is_everything(&self) -> bool {
        self.cidr.is_everything() && self.except.is_empty()
    }

    fn covers(&self, net: &Cidr) -> bool {
        self.cidr.contains(net) && !self.except.iter().any(|e| e.overlaps(net))
    }

    fn touches(&self, net: &Cidr) -> bool {
        self.cidr.overlaps(net) && !self.except.iter().any(|e| e.contains(net))
    }
}

/// Where a caller's packets come from, as far as the manifests and the settings say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A pod IP: in the cluster networks, otherwise not known.
    Pod,
    /// A node IP (the kubelet, a hostNetwork pod): not known.
    Node,
    /// Somewhere in these networks (the kube-apiserver with `api_server_networks`, the
    /// 169.254.7.127 SNAT address of Istio ambient).
    Within(Vec<Cidr>),
    /// The kube-apiserver, whose address is not known.
    ApiServer,
}

impl Source {
    fn unknown_why(&self) -> &'static str {
        match self {
            Source::Pod => "the caller's pod IP is not known",
            Source::Node => "the caller's node IP is not known",
            Source::ApiServer => {
                "the kube-apiserver's source IP is not known (give its networks in the settings)"
            }
            Source::Within(_) => "the caller's networks overlap the block only in part",
        }
    }

    /// Whether the source is in one of `blocks`: known only when a block admits every
    /// address (for an unknown address), or when the caller's networks are all covered or
    /// all outside.
    pub fn in_blocks(&self, blocks: &[Block]) -> Tri {
        match self {
            Source::Within(nets) => {
                if nets.iter().all(|n| blocks.iter().any(|b| b.covers(n))) {
                    Tri::Yes
                } else if !nets.iter().any(|n| blocks.iter().any(|b| b.touches(n))) {
                    Tri::No
                } else {
                    Tri::Unknown(self.unknown_why().into())
                }
            }
            _ if blocks.iter().any(Block::is_everything) => Tri::Yes,
            _ if blocks.is_empty() => Tri::No,
            _ => Tri::Unknown(self.unknown_why().into()),
        }
    }
}

/// Parses a list of CIDRs, skipping the ones that do not parse.
pub fn blocks(cidrs: &[String]) -> Vec<Block> {
    cidrs.iter().filter_map(|c| Block::new(c, &[])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn containment_for_both_families() {
        assert!(c("10.0.0.0/8").contains(&c("10.1.2.0/24")));
        assert!(!c("10.1.2.0/24").contains(&c("10.0.0.0/8")));
        assert!(c("0.0.0.0/0").contains(&c("192.168.1.1")));
        assert!(!c("0.0.0.0/0").contains(&c("fd00::1")));
        assert!(c("::/0").contains(&c("fd00::/8")));
        assert!(c("fd00::/8").contains(&c("fd16:9254:7127:1337:ffff:ffff:ffff:ffff")));
        assert!(c("169.254.7.127/32").contains(&c("169.254.7.127")));
        // Host bits are cleared, as the API servers of Kubernetes and Linkerd read them.
        assert_eq!(c("10.1.2.3/8"), c("10.0.0.0/8"));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nonsense").is_none());
    }

    #[test]
    fn a_source_in_networks_is_decided_by_cover_or_disjointness() {
        let api = Source::Within(vec![c("172.20.0.0/16")]);
        let b = |cidr: &str, except: &[&str]| Block::new(cidr, except).unwrap();
        assert_eq!(api.in_blocks(&[b("172.16.0.0/12", &[])]), Tri::Yes);
        assert_eq!(api.in_blocks(&[b("10.0.0.0/8", &[])]), Tri::No);
        assert!(matches!(
            api.in_blocks(&[b("172.20.1.0/24", &[])]),
            Tri::Unknown(_)
        ));
        assert!(matches!(
            api.in_blocks(&[b("0.0.0.0/0", &["172.20.5.0/24"])]),
            Tri::Unknown(_)
        ));
        assert_eq!(
            api.in_blocks(&[b("0.0.0.0/0", &["172.20.0.0/16"])]),
            Tri::No
        );
        assert_eq!(
            Source::ApiServer.in_blocks(&[b("0.0.0.0/0", &[])]),
            Tri::Yes
        );
        assert_eq!(Source::ApiServer.in_blocks(&[b("::/0", &[])]), Tri::Yes);
        assert!(matches!(
            Source::Pod.in_blocks(&[b("10.0.0.0/8", &[])]),
            Tri::Unknown(_)
        ));
        assert_eq!(Source::Node.in_blocks(&[]), Tri::No);
    }
}
