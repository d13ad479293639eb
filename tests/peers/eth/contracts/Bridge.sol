// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IERC20Like {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function balanceOf(address account) external view returns (uint256);
}

/// A deliberately vulnerable token bridge for incident-response tests: `withdraw` has no access
/// control (anyone can drain it while it is not paused). Pausable, Ownable and AccessControl with
/// OpenZeppelin's event signatures and semantics, self-contained (no imports).
contract Bridge {
    // --- AccessControl (OpenZeppelin-compatible events and role admin semantics) ---
    bytes32 public constant DEFAULT_ADMIN_ROLE = 0x00;
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    struct RoleData {
        mapping(address => bool) members;
        bytes32 adminRole;
    }

    mapping(bytes32 => RoleData) private _roles;

    event RoleAdminChanged(bytes32 indexed role, bytes32 indexed previousAdminRole, bytes32 indexed newAdminRole);
    event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender);
    event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender);

    // --- Ownable ---
    address public owner;
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    // --- Pausable ---
    bool public paused;
    event Paused(address account);
    event Unpaused(address account);

    // --- Bridge ---
    IERC20Like public immutable token;
    event Deposit(address indexed from, uint256 amount);
    event Withdrawal(address indexed to, uint256 amount);

    constructor(address token_, address admin) {
        require(token_ != address(0) && admin != address(0), "Bridge: zero address");
        token = IERC20Like(token_);
        owner = admin;
        emit OwnershipTransferred(address(0), admin);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    modifier onlyOwner() {
        require(msg.sender == owner, "Ownable: caller is not the owner");
        _;
    }

    modifier onlyRole(bytes32 role) {
        require(hasRole(role, msg.sender), "AccessControl: account is missing role");
        _;
    }

    modifier onlyPauser() {
        require(msg.sender == owner || hasRole(PAUSER_ROLE, msg.sender), "Bridge: caller is not owner or pauser");
        _;
    }

    modifier whenNotPaused() {
        require(!paused, "Pausable: paused");
        _;
    }

    // --- bridge ---
    function deposit(uint256 amount) external whenNotPaused {
        require(token.transferFrom(msg.sender, address(this), amount), "Bridge: transferFrom failed");
        emit Deposit(msg.sender, amount);
    }

    /// VULNERABLE ON PURPOSE: anyone can withdraw anything while the bridge is not paused.
    function withdraw(address to, uint256 amount) external whenNotPaused {
        require(token.transfer(to, amount), "Bridge: transfer failed");
        emit Withdrawal(to, amount);
    }

    // --- Pausable ---
    function pause() external onlyPauser {
        require(!paused, "Pausable: paused");
        paused = true;
        emit Paused(msg.sender);
    }

    function unpause() external onlyPauser {
        require(paused, "Pausable: not paused");
        paused = false;
        emit Unpaused(msg.sender);
    }

    // --- Ownable ---
    function transferOwnership(address newOwner) external onlyOwner {
        require(newOwner != address(0), "Ownable: new owner is the zero address");
        address previous = owner;
        owner = newOwner;
        emit OwnershipTransferred(previous, newOwner);
    }

    function renounceOwnership() external onlyOwner {
        address previous = owner;
        owner = address(0);
        emit OwnershipTransferred(previous, address(0));
    }

    // --- AccessControl ---
    function hasRole(bytes32 role, address account) public view returns (bool) {
        return _roles[role].members[account];
    }

    function getRoleAdmin(bytes32 role) public view returns (bytes32) {
        return _roles[role].adminRole;
    }

    function grantRole(bytes32 role, address account) external onlyRole(getRoleAdmin(role)) {
        _grantRole(role, account);
    }

    function revokeRole(bytes32 role, address account) external onlyRole(getRoleAdmin(role)) {
        _revokeRole(role, account);
    }

    function renounceRole(bytes32 role, address callerConfirmation) external {
        require(callerConfirmation == msg.sender, "AccessControl: can only renounce roles for self");
        _revokeRole(role, callerConfirmation);
    }

    /// OpenZeppelin's internal `_setRoleAdmin`, exposed to DEFAULT_ADMIN_ROLE holders.
    function setRoleAdmin(bytes32 role, bytes32 adminRole) external onlyRole(DEFAULT_ADMIN_ROLE) {
        bytes32 previousAdminRole = getRoleAdmin(role);
        _roles[role].adminRole = adminRole;
        emit RoleAdminChanged(role, previousAdminRole, adminRole);
    }

    function _grantRole(bytes32 role, address account) internal {
        if (!hasRole(role, account)) {
            _roles[role].members[account] = true;
            emit RoleGranted(role, account, msg.sender);
        }
    }

    function _revokeRole(bytes32 role, address account) internal {
        if (hasRole(role, account)) {
            _roles[role].members[account] = false;
            emit RoleRevoked(role, account, msg.sender);
        }
    }
}
