// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// A Chainlink AggregatorV3-style price feed the owner sets by hand (8 decimals).
/// `setAnswer` starts a new round stamped with the block time; `setRoundData` starts a new round with
/// any `updatedAt`, so a test can make the feed look stale.
contract Feed {
    uint8 public constant decimals = 8;
    uint256 public constant version = 4;
    string public description;
    address public owner;

    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
    }

    uint80 public latestRound;
    mapping(uint80 => Round) private _rounds;

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    constructor(string memory description_, int256 initialAnswer) {
        description = description_;
        owner = msg.sender;
        _newRound(initialAnswer, block.timestamp);
    }

    modifier onlyOwner() {
        require(msg.sender == owner, "Feed: caller is not the owner");
        _;
    }

    function setAnswer(int256 answer) external onlyOwner {
        _newRound(answer, block.timestamp);
    }

    function setRoundData(int256 answer, uint256 updatedAt) external onlyOwner {
        _newRound(answer, updatedAt);
    }

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return getRoundData(latestRound);
    }

    function getRoundData(uint80 roundId_)
        public
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Round storage r = _rounds[roundId_];
        require(r.updatedAt != 0, "Feed: no data present");
        return (roundId_, r.answer, r.startedAt, r.updatedAt, roundId_);
    }

    function latestAnswer() external view returns (int256) {
        return _rounds[latestRound].answer;
    }

    function latestTimestamp() external view returns (uint256) {
        return _rounds[latestRound].updatedAt;
    }

    function _newRound(int256 answer, uint256 updatedAt) internal {
        require(updatedAt != 0, "Feed: updatedAt is zero");
        uint80 roundId = latestRound + 1;
        latestRound = roundId;
        _rounds[roundId] = Round(answer, updatedAt, updatedAt);
        emit AnswerUpdated(answer, roundId, updatedAt);
    }
}
