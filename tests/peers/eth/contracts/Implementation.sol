// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// A trivial logic contract to put behind UpgradeableProxy. `version()` is an immutable (it lives in
/// the code, so it reads the same through the proxy); `value` lives in the proxy's storage.
contract Implementation {
    uint256 public immutable version;
    uint256 public value;

    event ValueChanged(uint256 value);

    constructor(uint256 version_) {
        version = version_;
    }

    function setValue(uint256 newValue) external {
        value = newValue;
        emit ValueChanged(newValue);
    }
}
