//! The presets: the reads and events that standard contracts (OpenZeppelin's Pausable, Ownable,
//! AccessControl, ERC-1967 proxies, Chainlink feeds) always deserve, with their default levels.
//!
//! Events that hand power to an address (a new owner, a role, a proxy admin or implementation) are
//! [`LevelRule::PowerTo`] that argument: L1 security when the address is not on the contract's `trusted`
//! list, L3 when it is. The signatures are the standard ones, used whatever the contract's ABI says.

use model::Level;

use super::config::{EventConfig, LevelRule, Preset, ReadConfig};

pub const LATEST_ROUND_DATA: &str = "latestRoundData()(uint80,int256,uint256,uint256,uint80)";
pub const DECIMALS: &str = "decimals()(uint8)";
/// `bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)`.
pub const IMPLEMENTATION_SLOT: &str =
    "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

pub fn reads(preset: Preset) -> Vec<ReadConfig> {
    match preset {
        Preset::Pausable => vec![ReadConfig {
            name: "paused".to_owned(),
            call: "paused()(bool)".to_owned(),
            to: None,
            args: Vec::new(),
            decimals: 0,
            every: 1,
            output: 0,
        }],
        _ => Vec::new(),
    }
}

fn event(name: &str, signature: &str, category: &str, title: &str) -> EventConfig {
    EventConfig {
        name: name.to_owned(),
        event: signature.to_owned(),
        condition: None,
        level: Level::L3,
        category: category.to_owned(),
        component: None,
        title: Some(title.to_owned()),
    }
}

/// Pauses and unpauses are `security`: one Vigil made itself folds into the incident that caused it, and
/// one made by someone else is an incident of its own.
pub fn events(preset: Preset) -> Vec<(EventConfig, LevelRule)> {
    let power = |argument: &str| LevelRule::PowerTo(argument.to_owned());
    match preset {
        Preset::Pausable => vec![
            (
                event(
                    "paused",
                    "Paused(address account)",
                    "security",
                    "contract paused",
                ),
                LevelRule::Fixed(Level::L3),
            ),
            (
                event(
                    "unpaused",
                    "Unpaused(address account)",
                    "security",
                    "contract unpaused",
                ),
                LevelRule::Fixed(Level::L3),
            ),
        ],
        Preset::Ownable => vec![(
            event(
                "ownership-transferred",
                "OwnershipTransferred(address indexed previousOwner, address indexed newOwner)",
                "security",
                "ownership transferred",
            ),
            power("newOwner"),
        )],
        Preset::AccessControl => vec![
            (
                event(
                    "role-granted",
                    "RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)",
                    "security",
                    "role granted",
                ),
                power("account"),
            ),
            (
                event(
                    "role-revoked",
                    "RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender)",
                    "security",
                    "role revoked",
                ),
                LevelRule::Fixed(Level::L3),
            ),
            (
                event(
                    "role-admin-changed",
                    "RoleAdminChanged(bytes32 indexed role, bytes32 indexed previousAdminRole, bytes32 indexed newAdminRole)",
                    "security",
                    "role admin changed",
                ),
                // Power moves to a role, not an address: nobody can say "trusted" here.
                LevelRule::Fixed(Level::L2),
            ),
        ],
        Preset::Erc1967 => vec![
            (
                event(
                    "upgraded",
                    "Upgraded(address indexed implementation)",
                    "security",
                    "proxy implementation upgraded",
                ),
                power("implementation"),
            ),
            (
                event(
                    "admin-changed",
                    "AdminChanged(address previousAdmin, address newAdmin)",
                    "security",
                    "proxy admin changed",
                ),
                power("newAdmin"),
            ),
            (
                event(
                    "beacon-upgraded",
                    "BeaconUpgraded(address indexed beacon)",
                    "security",
                    "proxy beacon upgraded",
                ),
                power("beacon"),
            ),
        ],
        Preset::ChainlinkFeed => Vec::new(),
    }
}

/// The level of an event that gives power to `to`.
pub fn power_level(trusted: bool, renounced: bool) -> Level {
    if renounced {
        Level::L2
    } else if trusted {
        Level::L3
    } else {
        Level::L1
    }
}
