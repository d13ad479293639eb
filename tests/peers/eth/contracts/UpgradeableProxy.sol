// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// A minimal ERC-1967 upgradeable proxy: implementation and admin live in the standard slots, the
/// admin upgrades with `upgradeTo` and hands over with `changeAdmin`; every other call is delegated.
/// Events are ERC-1967's: `Upgraded(address indexed)`, `AdminChanged(address,address)`.
contract UpgradeableProxy {
    /// bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)
    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;
    /// bytes32(uint256(keccak256("eip1967.proxy.admin")) - 1)
    bytes32 internal constant ADMIN_SLOT = 0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103;

    event Upgraded(address indexed implementation);
    event AdminChanged(address previousAdmin, address newAdmin);

    constructor(address implementation, address admin) {
        _setImplementation(implementation);
        _setAdmin(admin);
    }

    function upgradeTo(address newImplementation) external {
        require(msg.sender == _admin(), "ERC1967: caller is not the admin");
        _setImplementation(newImplementation);
    }

    function changeAdmin(address newAdmin) external {
        require(msg.sender == _admin(), "ERC1967: caller is not the admin");
        _setAdmin(newAdmin);
    }

    function _admin() internal view returns (address a) {
        assembly {
            a := sload(ADMIN_SLOT)
        }
    }

    function _setImplementation(address implementation) internal {
        require(implementation.code.length > 0, "ERC1967: implementation is not a contract");
        assembly {
            sstore(IMPLEMENTATION_SLOT, implementation)
        }
        emit Upgraded(implementation);
    }

    function _setAdmin(address newAdmin) internal {
        require(newAdmin != address(0), "ERC1967: new admin is the zero address");
        address previous = _admin();
        assembly {
            sstore(ADMIN_SLOT, newAdmin)
        }
        emit AdminChanged(previous, newAdmin);
    }

    fallback() external payable {
        assembly {
            let implementation := sload(IMPLEMENTATION_SLOT)
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), implementation, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch ok
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }

    receive() external payable {}
}
